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

// The simulator's steady-state tokens per second of `spec` under `cost`: tokens per update over
// the period of one update measured between a run of `updates` and one of 2 * `updates` updates
// (SimulateUpdateTiming), so start-up and drain cancel. Needs cost.tokens_per_microbatch.
Result<double> SteadyTokensPerSecond(const ir::PipelineSpec& spec, const ir::CostModel& cost,
                                     uint64_t updates = 32);

}  // namespace paci::sim
