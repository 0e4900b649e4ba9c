#include "sim/update_timing.h"

#include <algorithm>

#include "proto/ir_names.h"
#include "sched/pipeline_spec.h"
#include "sim/simulator.h"

namespace paci::sim {

namespace {

uint64_t MicrobatchesPerUpdate(const ir::PipelineSpec& spec) {
  return IsFlushSchedule(spec.kind()) ? spec.microbatches_per_iteration() : spec.accum();
}

// The two runs of R and 2R updates: their makespans and compute busy time summed over stages.
struct TwoRuns {
  double makespan_s[2] = {0, 0};
  double busy_s[2] = {0, 0};
};

Result<TwoRuns> SimulateTwoRuns(const ir::PipelineSpec& spec, const ir::CostModel& cost, uint64_t updates) {
  TwoRuns out;
  for (int i = 0; i < 2; ++i) {
    ir::PipelineSpec s = spec;
    s.set_total_microbatches(MicrobatchesPerUpdate(spec) * updates * (i + 1));
    Result<SimulationResult> r = SimulateSpec(s, cost);
    if (!r.ok()) return r.status();
    out.makespan_s[i] = static_cast<double>(r->makespan_ns) * 1e-9;
    for (const StageMetrics& m : r->stages) out.busy_s[i] += static_cast<double>(m.busy_ns) * 1e-9;
  }
  return out;
}

UpdateTiming TimingOf(const TwoRuns& runs, uint64_t updates) {
  UpdateTiming t;
  t.period_s = (runs.makespan_s[1] - runs.makespan_s[0]) / static_cast<double>(updates);
  t.offset_s = runs.makespan_s[0] - t.period_s * static_cast<double>(updates);
  return t;
}

}  // namespace

Result<UpdateTiming> SimulateUpdateTiming(const ir::PipelineSpec& requested, const ir::CostModel& cost,
                                          uint64_t updates) {
  Result<ir::PipelineSpec> spec = NormalizeSpec(requested);
  if (!spec.ok()) return spec.status();
  if (updates == 0) updates = 1;
  Result<TwoRuns> runs = SimulateTwoRuns(*spec, cost, updates);
  if (!runs.ok()) return runs.status();
  return TimingOf(*runs, updates);
}

uint64_t SteadyStateUpdates(const ir::PipelineSpec& spec) {
  const uint64_t per_update = std::max<uint64_t>(1, MicrobatchesPerUpdate(spec));
  const uint64_t depth =
      std::max<uint64_t>(uint64_t{spec.stages()} * std::max(1u, spec.chunks()), per_update);
  return std::max<uint64_t>(8, (8 * depth + per_update - 1) / per_update);
}

Result<SteadyState> SimulateSteadyState(const ir::PipelineSpec& requested, const ir::CostModel& cost,
                                        uint64_t updates) {
  Result<ir::PipelineSpec> spec = NormalizeSpec(requested);
  if (!spec.ok()) return spec.status();
  if (updates == 0) updates = SteadyStateUpdates(*spec);
  Result<TwoRuns> runs = SimulateTwoRuns(*spec, cost, updates);
  if (!runs.ok()) return runs.status();
  SteadyState s;
  s.timing = TimingOf(*runs, updates);
  s.updates = updates;
  s.microbatches_per_update = MicrobatchesPerUpdate(*spec);
  if (!(s.timing.period_s > 0))
    return Status::FailedPrecondition("steady state: the simulated update takes no time");
  s.microbatches_per_s = static_cast<double>(s.microbatches_per_update) / s.timing.period_s;
  s.tokens_per_s = s.microbatches_per_s * static_cast<double>(cost.tokens_per_microbatch());
  const double busy_per_update = (runs->busy_s[1] - runs->busy_s[0]) / static_cast<double>(updates);
  const double capacity = static_cast<double>(spec->stages()) * s.timing.period_s;
  s.bubble_fraction = std::clamp(1.0 - busy_per_update / capacity, 0.0, 1.0);
  return s;
}

Result<double> SteadyTokensPerSecond(const ir::PipelineSpec& requested, const ir::CostModel& cost,
                                     uint64_t updates) {
  if (cost.tokens_per_microbatch() == 0)
    return Status::InvalidArgument("steady tokens/s: the cost model has no tokens_per_microbatch");
  Result<SteadyState> s = SimulateSteadyState(requested, cost, updates == 0 ? 1 : updates);
  if (!s.ok())
    return s.status().code() == Status::Code::kFailedPrecondition
               ? Status::FailedPrecondition("steady tokens/s: the simulated update takes no time")
               : s.status();
  return s->tokens_per_s;
}

}  // namespace paci::sim
