// Profile files (`paci profile -o FILE`, read by `--profile FILE`): an ir::Profile as protobuf JSON
// with the proto field names, every field written. Reading checks the version and every number
// and names the first field at fault ("profile.json: layers[3].forward_ns: ..."), so a damaged
// or hand-edited file is refused instead of silently mispredicting.
#pragma once

#include <string>

#include "paci.pb.h"
#include "proto/status.h"

namespace paci::sim {

inline constexpr uint32_t kProfileVersion = 1;

// Checks a profile's contents; `source` prefixes the message.
Status ValidateProfile(const ir::Profile& profile, const std::string& source);

Result<std::string> ProfileToJson(const ir::Profile& profile);
Result<ir::Profile> ProfileFromJson(const std::string& json, const std::string& source);

Status WriteProfileFile(const ir::Profile& profile, const std::string& path);
Result<ir::Profile> LoadProfileFile(const std::string& path);

// Error unless `profile` was measured for `model` at `microbatch` (names the field that differs).
Status CheckProfileMatches(const ir::Profile& profile, const ir::ModelShape& model, uint32_t microbatch,
                           const std::string& source);

}  // namespace paci::sim
