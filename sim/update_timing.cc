#include "sim/update_timing.h"

#include "proto/ir_names.h"
#include "sched/pipeline_spec.h"
#include "sim/simulator.h"

namespace paci::sim {

Result<UpdateTiming> SimulateUpdateTiming(const ir::PipelineSpec& requested, const ir::CostModel& cost,
                                          uint64_t updates) {
  Result<ir::PipelineSpec> spec = NormalizeSpec(requested);
  if (!spec.ok()) return spec.status();
  if (updates == 0) updates = 1;
  const uint64_t per_update =
      IsFlushSchedule(spec->kind()) ? spec->microbatches_per_iteration() : spec->accum();
  double makespan[2] = {0, 0};
  for (int i = 0; i < 2; ++i) {
    ir::PipelineSpec s = *spec;
    s.set_total_microbatches(per_update * updates * (i + 1));
    Result<SimulationResult> r = SimulateSpec(s, cost);
    if (!r.ok()) return r.status();
    makespan[i] = static_cast<double>(r->makespan_ns) * 1e-9;
  }
  UpdateTiming t;
  t.period_s = (makespan[1] - makespan[0]) / static_cast<double>(updates);
  t.offset_s = makespan[0] - t.period_s * static_cast<double>(updates);
  return t;
}

Result<double> SteadyTokensPerSecond(const ir::PipelineSpec& requested, const ir::CostModel& cost,
                                     uint64_t updates) {
  if (cost.tokens_per_microbatch() == 0)
    return Status::InvalidArgument("steady tokens/s: the cost model has no tokens_per_microbatch");
  Result<ir::PipelineSpec> spec = NormalizeSpec(requested);
  if (!spec.ok()) return spec.status();
  Result<UpdateTiming> timing = SimulateUpdateTiming(*spec, cost, updates);
  if (!timing.ok()) return timing.status();
  if (!(timing->period_s > 0))
    return Status::FailedPrecondition("steady tokens/s: the simulated update takes no time");
  const uint64_t per_update =
      IsFlushSchedule(spec->kind()) ? spec->microbatches_per_iteration() : spec->accum();
  return static_cast<double>(per_update * cost.tokens_per_microbatch()) / timing->period_s;
}

}  // namespace paci::sim
