#include "gui/model/explorer_config.h"

#include <algorithm>

#include "proto/ir_names.h"

namespace paci::gui {
namespace {
int64_t MsToNs(double ms) { return static_cast<int64_t>(ms * 1e6 + 0.5); }
constexpr double kMiB = 1024.0 * 1024.0;
}  // namespace

ir::PipelineSpec SpecOf(const ExplorerConfig& c) {
  ir::PipelineSpec s;
  s.set_kind(c.kind);
  s.set_stages(c.stages);
  s.set_chunks(c.kind == ir::INTERLEAVED_1F1B ? c.chunks : 1);
  if (IsFlushSchedule(c.kind)) {
    s.set_microbatches_per_iteration(c.accum);  // one update per iteration
  } else {
    s.set_accum(c.accum);
  }
  s.set_total_microbatches(c.total_microbatches);
  return s;
}

ir::CostModel CostOf(const ExplorerConfig& c) {
  ir::CostModel m;
  const uint32_t chunks = c.kind == ir::INTERLEAVED_1F1B ? std::max(c.chunks, 1u) : 1;
  for (uint32_t s = 0; s < c.stages; ++s) {
    const double share = 1.0 / std::max(c.stages, 1u);  // this stage's part of the model
    const double scale = (s < c.stage_scale.size() ? c.stage_scale[s] : 1.0) * share / chunks;
    ir::StageCost* sc = m.add_stages();
    sc->set_forward_ns(MsToNs(c.forward_ms * scale));
    // Unsplit backward = input + weight gradient; split schedules get half each.
    sc->set_backward_input_ns(MsToNs(c.backward_ms * scale / 2));
    sc->set_backward_weight_ns(MsToNs(c.backward_ms * scale) - MsToNs(c.backward_ms * scale / 2));
    sc->set_optimizer_ns(MsToNs(c.optimizer_ms));
    sc->set_activation_bytes(static_cast<uint64_t>(c.activation_mib * kMiB * share / chunks));
    sc->set_weight_grad_bytes(static_cast<uint64_t>(c.activation_mib * kMiB * share / chunks / 4));
    sc->set_weight_bytes(static_cast<uint64_t>(c.weight_mib * kMiB * share));
    sc->set_gradient_bytes(static_cast<uint64_t>(c.weight_mib * kMiB * share));
    sc->set_optimizer_state_bytes(static_cast<uint64_t>(2 * c.weight_mib * kMiB * share));
    sc->set_message_bytes(static_cast<uint64_t>(c.activation_mib * kMiB * share / chunks / 8));
  }
  ir::LinkCost* l = m.add_links();
  l->set_latency_ns(static_cast<int64_t>(c.link_latency_us * 1e3));
  l->set_bandwidth_bytes_per_s(c.link_gb_per_s * 1e9);
  m.set_tokens_per_microbatch(c.tokens_per_microbatch);
  return m;
}

}  // namespace paci::gui
