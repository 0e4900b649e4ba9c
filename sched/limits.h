// The sizes a schedule may have, checked before anything is generated, expanded, validated or
// simulated, so that a request that would exhaust memory is refused at once and names the limit.
// Raising a limit is a one-line change here; the work estimate bounds memory at ~2 GB.
#pragma once

#include <cstdint>

#include "paci.pb.h"
#include "proto/status.h"

namespace paci {

inline constexpr uint32_t kMaxStages = 4096;                    // P
inline constexpr uint32_t kMaxChunks = 64;                      // V
// Ops a generator writes out explicitly: P * V * M for flush schedules (one iteration), P * K for
// asynchronous ones (the repeated body). Longer runs repeat a compact body and cost no memory.
inline constexpr uint64_t kMaxStageMicroBatches = uint64_t{1} << 24;
inline constexpr uint64_t kMaxRunMicroBatches = uint64_t{1} << 40;  // N, so op ids never overflow
// Work of playing a run op by op: P * V * N for the validator (one byte each) and the simulator.
inline constexpr uint64_t kMaxPlayedStageMicroBatches = uint64_t{1} << 32;
inline constexpr uint64_t kMaxSweepStageMicroBatches = uint64_t{1} << 28;  // summed over a sweep's grid
// One op's time and a run's total stay far below 2^63 ns (292 years), so sums cannot overflow.
inline constexpr int64_t kMaxOpNs = int64_t{1} << 50;          // ~13 days
inline constexpr uint64_t kMaxBytes = uint64_t{1} << 50;        // 1 PiB per size field

// P, V, N, M and K of `spec` (filled or not) against the limits above; the error names the field,
// the limit and where to raise it.
Status CheckSpecLimits(const ir::PipelineSpec& spec);

// P * V * N of `spec` against kMaxPlayedStageMicroBatches: before validating or simulating a run.
Status CheckPlayedWork(const ir::PipelineSpec& spec);

}  // namespace paci
