// The simulator's time per optimizer update: a schedule simulated for R and 2R updates, so start-up
// and drain cancel and what remains is the steady-state period. Time to accuracy (study/) multiplies
// it by the updates a measured loss curve needed; this file only simulates.
#pragma once

#include <cstdint>

#include "paci.pb.h"
#include "proto/status.h"

namespace paci::sim {

// Simulated wall time of a run as a function of its optimizer updates: time(u) = offset + u * period.
// period is the steady-state time per update, offset the start-up (and drain) cost.
struct UpdateTiming {
  double offset_s = 0;
  double period_s = 0;
  double SecondsFor(uint64_t updates) const { return offset_s + static_cast<double>(updates) * period_s; }
};

// Simulates `spec` for R and 2R updates (R = `updates`, flush: R iterations; asynchronous: R * K
// micro-batches) and fits time(u) through the two makespans. Exact for flush schedules.
Result<UpdateTiming> SimulateUpdateTiming(const ir::PipelineSpec& spec, const ir::CostModel& cost,
                                          uint64_t updates = 32);

// A schedule's steady state under a cost model: the figures a long run tends to, with start-up and
// drain cancelled between a run of R and one of 2R updates. What the explorer's cards and `paci
// sweep`'s default show; a short run's figures are dominated by fill and drain.
struct SteadyState {
  UpdateTiming timing;
  uint64_t updates = 0;                  // R: runs of R and 2R updates were simulated
  uint64_t microbatches_per_update = 0;  // K (flush: M)
  double microbatches_per_s = 0;
  double tokens_per_s = 0;     // 0 when the cost model has no tokens_per_microbatch
  double bubble_fraction = 0;  // all stages: 1 - compute busy per update / (P x period)
};

// Enough updates for the steady state of `spec` (normalized): R with R updates covering at least
// 8 x max(P x V, K) micro-batches, and at least 8, so fill and drain lie inside both runs.
uint64_t SteadyStateUpdates(const ir::PipelineSpec& spec);

// Simulates `spec` for R and 2R updates (R = `updates`, 0: SteadyStateUpdates) and returns the
// difference per update: time, micro-batches and tokens per second, and the bubble.
Result<SteadyState> SimulateSteadyState(const ir::PipelineSpec& spec, const ir::CostModel& cost,
                                        uint64_t updates = 0);

// The simulator's steady-state tokens per second of `spec` under `cost`: tokens per update over
// the period of one update measured between a run of `updates` and one of 2 * `updates` updates
// (SimulateUpdateTiming), so start-up and drain cancel. Needs cost.tokens_per_microbatch.
Result<double> SteadyTokensPerSecond(const ir::PipelineSpec& spec, const ir::CostModel& cost,
                                     uint64_t updates = 32);

}  // namespace paci::sim
