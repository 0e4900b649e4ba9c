// What a staleness compensation (sched/staleness.h) costs in the simulator: the extra time its
// forwards, backwards and optimizer steps spend reading and writing weights and moments, and the
// one-layer weight estimate it holds while an op runs (StageCost.transient_bytes). Applied to a
// cost model resolved for one schedule; persistent memory is unchanged for every kind.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "paci.pb.h"
#include "proto/status.h"
#include "sched/staleness.h"
#include "sched/weight_version_analysis.h"
#include "sim/model_cost.h"

namespace paci::sim {

// The optimizer step reads g, w, m, v and writes w, m, v: 7 floats per parameter of the stage.
// One extra float per parameter is costed as optimizer_ns / 7, so any cost model (typed, fitted,
// profiled, model-based) prices a compensation without a bandwidth figure; opt_ms = 0 prices it 0.
inline constexpr double kOptimizerFloatsPerParam = 7;

// Per stage, the weight bytes of its largest layer a weight estimate covers (the transient
// buffer), from a model's layer costs and split (stage s holds slices s, s+P, ...). A rewind leaves
// the embedding out (its backward reads no weights); a prediction estimates it too, as the
// executor does (exec/runtime/weight_estimate.h).
std::vector<uint64_t> LargestEstimatedLayer(const std::vector<LayerCost>& layers,
                                            const std::vector<LayerSlice>& slices, uint32_t stages,
                                            StalenessKind kind = StalenessKind::kRewind);

// Per stage of a schedule: backwards analysed, and those whose weights moved since their forward
// (drift > 0): the ops rewind (backwards) or predict (forwards, whose future drift it is) run on.
struct StalenessNeeds {
  std::vector<uint64_t> backwards;
  std::vector<uint64_t> drifted;
  std::vector<uint64_t> stale_gradient_stages;  // 1 where some applied gradient is stale
};
StalenessNeeds NeedsOf(const WeightVersionReport& report);

// What `s` does on each stage of an analysed schedule (`paci schedule --analyze --staleness`):
// the ops that need the weight estimate (drift > 0: the backwards for rewind, the forwards for
// predict, whose future drift it is; 0 for kinds without one) out of the stage's backwards, the
// extra floats read and written per parameter over the run (exactly: only ops with drift > 0),
// and whether it holds a one-layer estimate while an op runs.
struct StageCompensation {
  uint32_t stage = 0;
  uint64_t estimates = 0, ops = 0;
  double extra_floats_per_param = 0;
  bool transient = false;
};
std::vector<StageCompensation> CompensationPerStage(const Staleness& s, const WeightVersionReport& report);

// `cost` (1 or P stage entries) with `s`'s cost added, one entry per stage of `needs`:
//  forward_ns / backward_input_ns += floats per param x optimizer_ns / 7 on stages with drift > 0.
//    An upper bound: every forward or backward of such a stage is charged (only those with drift
//    > 0 do the work) for every parameter of the stage (the executor skips the embedding's);
//  optimizer_ns += floats per param x optimizer_ns / 7 on stages with stale gradients (delay-comp);
//  transient_bytes, kinds with a layer estimate, on stages with drift > 0: the largest estimated
//    layer (`largest_layer`, one per stage, when the costs come from a model), else
//    ceil(weight_bytes / max(1, layers)) (exact for equal layers; weight_bytes without layers).
// drift-lr-scale and stage-lr add nothing (only the learning rate changes).
Result<ir::CostModel> ApplyStalenessCost(const ir::CostModel& cost, const Staleness& s,
                                         const StalenessNeeds& needs,
                                         const std::vector<uint64_t>& largest_layer = {});

// The same after analysing `schedule` (which must be valid); refuses a compensation that does not
// apply, the error naming `flag`.
Result<ir::CostModel> ApplyStalenessCost(const ir::CostModel& cost, const Staleness& s,
                                         const ir::Schedule& schedule, std::string_view flag,
                                         const std::vector<uint64_t>& largest_layer = {});

}  // namespace paci::sim
