// PipelineSpec defaults and checks: turns what a user asked for into a complete spec that every
// generator can rely on (chunks >= 1, K set, run length set), or says which field is impossible.
#pragma once

#include <cstdint>

#include "paci.pb.h"
#include "proto/status.h"

namespace paci {

// Fills defaults and rejects impossible combinations, naming the field:
//  - stages >= 1; chunks > 1 only for interleaved-1f1b (default 2 there), whose M must be a
//    multiple of P;
//  - flush schedules: M defaults to 2P, total_microbatches to M (one iteration) and must be a
//    multiple of M;
//  - asynchronous schedules: K defaults to P (1 for pipedream, which must have K == 1;
//    pipedream-2bw needs K >= P); the run defaults to 4 * max(P, K) micro-batches;
//  - window, when given, has one entry >= 1 per stage, only for asynchronous schedules.
Result<ir::PipelineSpec> NormalizeSpec(const ir::PipelineSpec& spec);

// In-flight cap of stage s under the spec: window[s] if given, else P - s.
uint32_t StageWindow(const ir::PipelineSpec& spec, uint32_t stage);

// Number of virtual stages P * V.
inline uint32_t VirtualStages(const ir::PipelineSpec& spec) {
  return spec.stages() * (spec.chunks() == 0 ? 1 : spec.chunks());
}

}  // namespace paci
