#include "gui/model/explorer_config.h"

#include <algorithm>

#include "sched/pipeline_spec.h"

namespace paci::gui {

Result<ir::PipelineSpec> SpecOf(const ExplorerConfig& c) {
  return SpecFor(c.kind, c.stages, c.accum, c.total_microbatches, c.chunks);
}

std::vector<sim::UniformCost> StageCostsOf(const ExplorerConfig& c, const ir::PipelineSpec& spec) {
  const uint32_t chunks = spec.chunks();
  const double share = 1.0 / std::max(c.stages, 1u);  // each stage's part of the model
  std::vector<sim::UniformCost> stages(std::max(c.stages, 1u));
  for (uint32_t s = 0; s < stages.size(); ++s) {
    sim::UniformCost& u = stages[s];
    const double scale = (s < c.stage_scale.size() ? c.stage_scale[s] : 1.0) * share / chunks;
    u.fwd_ms = c.forward_ms * scale;
    // The whole backward is input + weight gradient; split schedules run half as each.
    u.bwd_ms = c.backward_ms * scale / 2;
    u.wgrad_ms = c.backward_ms * scale / 2;
    u.opt_ms = c.optimizer_ms;
    u.activation_mb = c.activation_mib * share / chunks;
    u.wgrad_mb = u.activation_mb / 4;
    u.message_mb = u.activation_mb / 8;
    u.weights_mb = c.weight_mib * share;
    u.latency_us = c.link_latency_us;
    u.bandwidth_gbps = c.link_bandwidth_gbps;
    u.tokens_per_microbatch = c.tokens_per_microbatch;
  }
  return stages;
}

Result<ir::CostModel> CostOf(const SimBackend& backend, const ExplorerConfig& c,
                             const ir::PipelineSpec& spec) {
  if (c.cost_source == CostSource::kModel) return backend.ModelCost(c.model, spec);
  return backend.TypedCost(StageCostsOf(c, spec));
}

}  // namespace paci::gui
