// Sweep: simulates every configuration of a grid (schedules x stages x accumulation factors x run
// lengths) on a pool of threads, in a deterministic output order, and recommends the fastest
// configuration that fits a per-stage memory budget and a drift limit. Used by `paci sweep`.
// K is the number of micro-batches per optimizer step for every schedule: asynchronous schedules
// step every K backwards, flush schedules run iterations of M = K micro-batches.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "paci.pb.h"
#include "proto/status.h"
#include "sched/staleness.h"
#include "sim/staleness_cost.h"

namespace paci::sim {

// "8", "2,4,8", "2..32" (every integer), "2..32:pow2" (powers of two within), "2..32:4" (step 4),
// and comma-separated mixtures of these. Sorted, duplicates removed; values >= 1.
Result<std::vector<uint64_t>> ParseRange(std::string_view text);

struct SweepGrid {
  std::vector<ir::ScheduleKind> schedules;
  // The compensation of each schedule row (schedule variants "paci+rewind=1", sched/staleness.h):
  // empty, or one per entry of `schedules`. A point where it does not apply becomes a row error.
  std::vector<Staleness> staleness;
  // Per spec, each stage's largest estimated layer (LargestEstimatedLayer) when the costs come
  // from a model; null: from the cost model's own weight bytes and layer count.
  std::function<std::vector<uint64_t>(const ir::PipelineSpec&, StalenessKind)> largest_layer;
  std::vector<uint32_t> stages;
  std::vector<uint32_t> accums;
  std::vector<uint64_t> microbatches;  // run lengths N; empty: 8 * max(P, K) per point
  std::vector<uint64_t> updates;       // or run lengths in updates (N = updates x K); not both
  // Whether each point also gets its steady state (SweepRow::steady_*). `paci sweep` asks for it
  // when no run length is given, so that its default answers "which is faster in the long run".
  bool steady_state = false;
  uint32_t chunks = 2;  // V for interleaved-1f1b
};

// One simulated configuration. Run lengths are rounded up to whole groups of K micro-batches.
struct SweepRow {
  ir::ScheduleKind kind = ir::SCHEDULE_KIND_UNSPECIFIED;
  Staleness staleness;  // the row's compensation; its name is ScheduleVariantText
  uint32_t stages = 0, accum = 0, chunks = 1;
  uint64_t microbatches = 0;
  std::string error;  // non-empty: the configuration is impossible (e.g. 2BW with K < P)

  int64_t makespan_ns = 0;
  uint64_t optimizer_updates = 0;
  double throughput_microbatches_per_s = 0;
  double tokens_per_s = 0;
  double bubble_fraction = 0;
  uint64_t peak_memory_bytes = 0;  // max over stages
  uint64_t transient_bytes = 0;    // max over stages: a compensation's one-layer estimate
  uint32_t peak_activations = 0;   // max over stages
  uint32_t weight_versions = 0;    // max over stages
  uint32_t max_drift = 0;          // max over stages
  double mean_drift = 0;           // max over stages of the stage mean
  uint64_t ops = 0;
  std::vector<ir::StageCost> stage_costs;  // the cost model's stages, when it depends on the point

  // The steady state (SimulateSteadyState), for a grid without run lengths (the default): what a
  // long run tends to. The run's figures above include its fill and drain, which dominate a run
  // of 8 x max(P, K) micro-batches. steady_updates 0: not computed.
  uint64_t steady_updates = 0;  // R: runs of R and 2R updates gave it
  double steady_throughput_microbatches_per_s = 0;
  double steady_tokens_per_s = 0;
  double steady_bubble_fraction = 0;

  bool ok() const { return error.empty(); }
  bool has_steady() const { return steady_updates > 0; }
  // What the recommendation ranks: the steady state where there is one, else the run's.
  double RankedThroughput() const {
    return has_steady() ? steady_throughput_microbatches_per_s : throughput_microbatches_per_s;
  }
};

// Calls fn(0..n-1) on `threads` threads (0: all cores); each index exactly once.
void ParallelFor(size_t n, unsigned threads, const std::function<void(size_t)>& fn);

// The normalized spec of one grid point (sched's SpecFor): the run N rounded up to whole updates
// of K, 8 * max(P, K) micro-batches when N is 0; V applies to interleaved-1f1b only.
Result<ir::PipelineSpec> SweepSpec(ir::ScheduleKind kind, uint32_t stages, uint32_t accum,
                                   uint64_t microbatches, uint32_t chunks);

// Simulates every point on `threads` threads (0: all cores). Rows come in grid order:
// schedule, then stages, then K, then N. Points a generator rejects become rows with `error`.
// With grid.steady_state each row also carries its steady state.
std::vector<SweepRow> RunSweep(const SweepGrid& grid, const ir::CostModel& cost, unsigned threads = 0);

// The same with a cost model per point (a model on hardware: the layer split depends on P, V and
// the schedule's in-flight depth). Rows carry that cost model's stages; a point whose cost model
// cannot be made (nothing fits the memory cap) becomes a row with `error`.
using CostForSpec = std::function<Result<ir::CostModel>(const ir::PipelineSpec&)>;
std::vector<SweepRow> RunSweep(const SweepGrid& grid, const CostForSpec& cost_for, unsigned threads = 0);

// `cost` with `staleness` applied on the schedule of `spec` (ApplyStalenessCost; `cost` itself
// when off). The error, where it does not apply, starts with the variant ("paci+rewind=1").
Result<ir::CostModel> CompensatedCost(const ir::PipelineSpec& spec, const Staleness& staleness,
                                      const ir::CostModel& cost,
                                      const std::vector<uint64_t>& largest_layer = {});

struct SweepLimits {
  std::optional<uint64_t> memory_budget_bytes;  // per stage
  std::optional<uint32_t> max_drift;
};

struct Recommendation {
  uint32_t stages = 0;
  std::optional<SweepRow> best;       // highest throughput within the limits
  std::optional<SweepRow> runner_up;  // highest throughput of another schedule within the limits
};

// One recommendation per stage count in `rows` (ascending P), by SweepRow::RankedThroughput;
// ties go to the earlier row.
std::vector<Recommendation> Recommend(const std::vector<SweepRow>& rows, const SweepLimits& limits);

}  // namespace paci::sim
