// The version of the schedule IR this code writes and reads (Schedule.ir_version).
// Bump it when a change to proto/paci.proto changes what an existing field means.
#pragma once

#include <cstdint>

namespace paci {
inline constexpr uint32_t kIrVersion = 1;
}  // namespace paci
