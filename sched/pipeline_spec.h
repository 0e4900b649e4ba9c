// PipelineSpec defaults and checks: turns what a user asked for into a complete spec that every
// generator can rely on (chunks >= 1, K set, run length set), or says which field is impossible;
// and SpecFor, the one reading of (schedule, P, K, run length, V) that every caller builds specs by.
#pragma once

#include <cstdint>
#include <vector>

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

// K when none is given: 2P for flush schedules (their iteration M), 1 for pipedream, P for the
// other asynchronous schedules.
uint32_t DefaultAccum(ir::ScheduleKind kind, uint32_t stages);

// V when none is given: 2 for interleaved-1f1b, 1 (the only value they take) for the others.
uint32_t DefaultChunks(ir::ScheduleKind kind);

// Whether `kind` splits each backward into an input-gradient op and a weight-gradient op run later
// (BACKWARD_INPUT, BACKWARD_WEIGHT): zb-h1 only; the others run one BACKWARD.
bool SplitsBackward(ir::ScheduleKind kind);

// The normalized spec of `kind` on `stages` stages, as the command line, sweeps, the viewer, tests
// and benchmarks all read these numbers (tools/README.md):
//  - accum: K, micro-batches per optimizer update for every schedule (a flush schedule's
//    iteration M is K); 0: DefaultAccum;
//  - microbatches: the run length N in micro-batches; 0: NormalizeSpec's default;
//  - chunks: V of interleaved-1f1b (0: 2); the other schedules run one chunk per stage and
//    ignore it (a caller that must refuse V > 1 for them says so in its own words);
//  - window: the in-flight cap per stage (asynchronous schedules), empty: P - s.
// The error names the spec field at fault (as NormalizeSpec).
Result<ir::PipelineSpec> SpecFor(ir::ScheduleKind kind, uint32_t stages, uint32_t accum,
                                 uint64_t microbatches, uint32_t chunks = 0,
                                 const std::vector<uint32_t>& window = {});

// A schedule read from a file or a store whose spec leaves chunks 0 (written before every spec
// carried it) takes the chunk count its ops use, at least 1. With NormalizeSpec this is where
// chunks 0 is read: past generation or reading, every spec has chunks >= 1 and the engines rely on it.
void NormalizeChunks(ir::Schedule* schedule);
// The same for a spec read without its schedule (a stored run's record): chunks 0 reads as 1.
void NormalizeChunks(ir::PipelineSpec* spec);

// In-flight cap of stage s under the spec: window[s] if given, else P - s.
uint32_t StageWindow(const ir::PipelineSpec& spec, uint32_t stage);

}  // namespace paci
