// A staleness compensation's time and transient memory on a cost model. See staleness_cost.h.
#include "sim/staleness_cost.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "proto/ir_names.h"
#include "sched/staleness_check.h"

namespace paci::sim {
namespace {

// Extra ns for `floats` floats per parameter on a stage whose step takes `optimizer_ns`.
int64_t ExtraNs(double floats, int64_t optimizer_ns) {
  return std::llround(floats * static_cast<double>(optimizer_ns) / kOptimizerFloatsPerParam);
}

// The one-layer buffer an estimate holds on stage `s`.
uint64_t LayerBytes(const ir::StageCost& c, const std::vector<uint64_t>& largest_layer, size_t s) {
  if (s < largest_layer.size()) return largest_layer[s];
  const uint64_t n = std::max<uint64_t>(1, c.layers());
  return c.weight_bytes() / n + (c.weight_bytes() % n != 0);
}

}  // namespace

std::vector<uint64_t> LargestEstimatedLayer(const std::vector<LayerCost>& layers,
                                            const std::vector<LayerSlice>& slices, uint32_t stages,
                                            StalenessKind kind) {
  std::vector<uint64_t> out(stages, 0);
  const int first = kind == StalenessKind::kPredict ? 0 : 1;  // layer 0: the embedding
  for (size_t v = 0; v < slices.size() && stages > 0; ++v)
    for (int l = std::max(first, slices[v].first); l < slices[v].last && l < static_cast<int>(layers.size());
         ++l)
      out[v % stages] = std::max(out[v % stages], layers[l].weight_bytes);
  return out;
}

StalenessNeeds NeedsOf(const WeightVersionReport& report) {
  StalenessNeeds n;
  for (const StageVersionStats& st : report.stages) {
    const uint64_t zero = st.histogram.empty() ? st.backwards : st.histogram[0];
    n.backwards.push_back(st.backwards);
    n.drifted.push_back(st.backwards - std::min(zero, st.backwards));
    n.stale_gradient_stages.push_back(st.max_gradient_staleness > 0 ? 1 : 0);
  }
  return n;
}

std::vector<StageCompensation> CompensationPerStage(const Staleness& s, const WeightVersionReport& report) {
  const StalenessCost c = CostOf(s.kind);
  const StalenessNeeds needs = NeedsOf(report);
  std::vector<StageCompensation> out;
  for (size_t i = 0; i < report.stages.size(); ++i) {
    const double drifted = static_cast<double>(needs.drifted[i]);
    const double steps = static_cast<double>(report.stages[i].optimizer_steps);
    out.push_back({report.stages[i].stage, c.layer_estimate ? needs.drifted[i] : 0, needs.backwards[i],
                   drifted * (c.forward_floats_per_param + c.backward_floats_per_param) +
                       steps * c.optimizer_floats_per_param,
                   c.layer_estimate && needs.drifted[i] > 0});
  }
  return out;
}

Result<ir::CostModel> ApplyStalenessCost(const ir::CostModel& cost, const Staleness& s,
                                         const StalenessNeeds& needs,
                                         const std::vector<uint64_t>& largest_layer) {
  const size_t P = needs.drifted.size();
  if (cost.stages_size() != 1 && cost.stages_size() != static_cast<int>(P))
    return Status::InvalidArgument(fmt::format(
        "cost model: stages: needs 1 entry or one per stage ({}), got {}", P, cost.stages_size()));
  if (!largest_layer.empty() && largest_layer.size() != P)
    return Status::InvalidArgument(
        fmt::format("staleness cost: {} layer sizes for {} stages", largest_layer.size(), P));
  ir::CostModel out = cost;
  if (!s.on() || P == 0) return out;
  // One entry per stage: the extra cost differs where the drift does.
  out.clear_stages();
  for (size_t i = 0; i < P; ++i)
    *out.add_stages() = cost.stages(cost.stages_size() == 1 ? 0 : static_cast<int>(i));
  const StalenessCost k = CostOf(s.kind);
  for (size_t i = 0; i < P; ++i) {
    ir::StageCost& c = *out.mutable_stages(static_cast<int>(i));
    const int64_t opt = c.optimizer_ns();
    // The executor corrects a step only when its gradients are stale (PACI's last stage: never).
    if (needs.stale_gradient_stages[i] != 0)
      c.set_optimizer_ns(opt + ExtraNs(k.optimizer_floats_per_param, opt));
    if (needs.drifted[i] == 0) continue;
    c.set_forward_ns(c.forward_ns() + ExtraNs(k.forward_floats_per_param, opt));
    // BACKWARD takes backward_input + backward_weight, BACKWARD_INPUT the first: both are charged.
    c.set_backward_input_ns(c.backward_input_ns() + ExtraNs(k.backward_floats_per_param, opt));
    if (k.layer_estimate) c.set_transient_bytes(LayerBytes(c, largest_layer, i));
  }
  return out;
}

Result<ir::CostModel> ApplyStalenessCost(const ir::CostModel& cost, const Staleness& s,
                                         const ir::Schedule& schedule, std::string_view flag,
                                         const std::vector<uint64_t>& largest_layer) {
  if (!s.on()) return cost;
  Result<WeightVersionReport> report = AnalyzeWeightVersions(schedule);
  if (!report.ok()) return report.status();
  PACI_RETURN_IF_ERROR(CheckStalenessApplies(s, schedule, *report, flag));  // sched/staleness_check.h
  return ApplyStalenessCost(cost, s, NeedsOf(*report), largest_layer);
}

}  // namespace paci::sim
