#include "sim/sweep.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <map>
#include <thread>

#include "proto/ir_names.h"
#include "sched/pipeline_spec.h"
#include "sched/schedule_generator.h"
#include "sim/simulator.h"
#include "sim/update_timing.h"

namespace paci::sim {
namespace {

Result<uint64_t> ParseNumber(std::string_view text, std::string_view whole) {
  uint64_t v = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v == 0)
    return Status::InvalidArgument("range '" + std::string(whole) + "': '" + std::string(text) +
                                   "' is not a positive integer");
  return v;
}

// One comma-free item: "8", "2..32", "2..32:pow2", "2..32:4".
Status ParseItem(std::string_view item, std::string_view whole, std::vector<uint64_t>* out) {
  const size_t dots = item.find("..");
  if (dots == std::string_view::npos) {
    Result<uint64_t> v = ParseNumber(item, whole);
    if (!v.ok()) return v.status();
    out->push_back(*v);
    return Status::Ok();
  }
  std::string_view hi_text = item.substr(dots + 2), step_text;
  if (const size_t colon = hi_text.find(':'); colon != std::string_view::npos) {
    step_text = hi_text.substr(colon + 1);
    hi_text = hi_text.substr(0, colon);
  }
  Result<uint64_t> lo = ParseNumber(item.substr(0, dots), whole);
  Result<uint64_t> hi = ParseNumber(hi_text, whole);
  if (!lo.ok()) return lo.status();
  if (!hi.ok()) return hi.status();
  if (*lo > *hi || *hi - *lo > 1000000)
    return Status::InvalidArgument("range '" + std::string(whole) + "': bad bounds");
  if (step_text == "pow2") {
    for (uint64_t v = 1; v <= *hi; v *= 2) {
      if (v >= *lo) out->push_back(v);
      if (v > *hi / 2) break;  // the next doubling would pass hi (or wrap to 0 near 2^64)
    }
    return Status::Ok();
  }
  uint64_t step = 1;
  if (!step_text.empty()) {
    Result<uint64_t> s = ParseNumber(step_text, whole);
    if (!s.ok()) return s.status();
    step = *s;
  }
  for (uint64_t v = *lo; v <= *hi; v += step) {
    out->push_back(v);
    if (*hi - v < step) break;  // v + step would pass hi (or wrap near 2^64)
  }
  return Status::Ok();
}

void Summarize(const SimulationResult& r, SweepRow* row) {
  row->makespan_ns = r.makespan_ns;
  row->optimizer_updates = r.optimizer_updates;
  row->throughput_microbatches_per_s = r.throughput_microbatches_per_s;
  row->tokens_per_s = r.tokens_per_s;
  row->bubble_fraction = r.bubble_fraction;
  row->ops = r.ops;
  for (const StageMetrics& s : r.stages) {
    row->peak_memory_bytes = std::max(row->peak_memory_bytes, s.peak_memory_bytes);
    row->transient_bytes = std::max(row->transient_bytes, s.transient_bytes);
    row->peak_activations = std::max(row->peak_activations, s.peak_activations);
    row->weight_versions = std::max(row->weight_versions, s.weight_versions);
    row->max_drift = std::max(row->max_drift, s.max_drift);
    row->mean_drift = std::max(row->mean_drift, s.mean_drift);
  }
}

SweepRow RunPoint(const SweepRow& point, const CostForSpec& cost_for, const SweepGrid& grid) {
  const bool steady_state = grid.steady_state;
  SweepRow row = point;
  Result<ir::PipelineSpec> spec =
      SweepSpec(point.kind, point.stages, point.accum, point.microbatches, point.chunks);
  if (!spec.ok()) {
    row.error = spec.status().message();
    return row;
  }
  row.microbatches = spec->total_microbatches();
  Result<ir::CostModel> cost = cost_for(*spec);
  if (cost.ok() && row.staleness.on())
    cost = CompensatedCost(
        *spec, row.staleness, *cost,
        grid.largest_layer ? grid.largest_layer(*spec, row.staleness.kind) : std::vector<uint64_t>{});
  if (!cost.ok()) {
    row.error = cost.status().message();
    return row;
  }
  row.stage_costs.assign(cost->stages().begin(), cost->stages().end());
  Result<SimulationResult> r = SimulateSpec(*spec, *cost);
  if (!r.ok()) {
    row.error = r.status().message();
    return row;
  }
  Summarize(*r, &row);
  if (!steady_state) return row;
  Result<SteadyState> steady = SimulateSteadyState(*spec, *cost);
  if (!steady.ok()) {
    row.error = "steady state: " + steady.status().message();
    return row;
  }
  row.steady_updates = steady->updates;
  row.steady_throughput_microbatches_per_s = steady->microbatches_per_s;
  row.steady_tokens_per_s = steady->tokens_per_s;
  row.steady_bubble_fraction = steady->bubble_fraction;
  return row;
}

}  // namespace

Result<std::vector<uint64_t>> ParseRange(std::string_view text) {
  std::vector<uint64_t> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    PACI_RETURN_IF_ERROR(ParseItem(text.substr(start, comma - start), text, &out));
    start = comma + 1;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<ir::PipelineSpec> SweepSpec(ir::ScheduleKind kind, uint32_t P, uint32_t K, uint64_t N,
                                   uint32_t chunks) {
  if (K == 0) return Status::InvalidArgument("accum: must be at least 1");
  if (N == 0) N = 8 * uint64_t{std::max(P, K)};
  return SpecFor(kind, P, K, (N + K - 1) / K * K, chunks);
}

Result<ir::CostModel> CompensatedCost(const ir::PipelineSpec& spec, const Staleness& staleness,
                                      const ir::CostModel& cost, const std::vector<uint64_t>& largest_layer) {
  if (!staleness.on()) return cost;
  Result<ir::Schedule> schedule = GenerateSchedule(spec);
  if (!schedule.ok()) return schedule.status();
  return ApplyStalenessCost(cost, staleness, *schedule,
                            ScheduleVariantText({ScheduleName(spec.kind()), staleness}), largest_layer);
}

std::vector<SweepRow> RunSweep(const SweepGrid& grid, const ir::CostModel& cost, unsigned threads) {
  const CostForSpec same = [&cost](const ir::PipelineSpec&) -> Result<ir::CostModel> { return cost; };
  std::vector<SweepRow> rows = RunSweep(grid, same, threads);
  // The same for every plain point: nothing to report. A compensated point's costs are its own.
  for (SweepRow& r : rows)
    if (!r.staleness.on()) r.stage_costs.clear();
  return rows;
}

std::vector<SweepRow> RunSweep(const SweepGrid& grid, const CostForSpec& cost_for, unsigned threads) {
  std::vector<SweepRow> rows;
  const bool by_updates = !grid.updates.empty();
  const std::vector<uint64_t> lengths = by_updates                  ? grid.updates
                                        : grid.microbatches.empty() ? std::vector<uint64_t>{0}
                                                                    : grid.microbatches;
  for (size_t k = 0; k < grid.schedules.size(); ++k)
    for (uint32_t P : grid.stages)
      for (uint32_t K : grid.accums)
        for (uint64_t N : lengths) {
          const ir::ScheduleKind kind = grid.schedules[k];
          SweepRow& r = rows.emplace_back();
          r.kind = kind;
          if (k < grid.staleness.size()) r.staleness = grid.staleness[k];
          r.stages = P;
          r.accum = K;
          r.microbatches = by_updates ? N * K : N;
          r.chunks = kind == ir::INTERLEAVED_1F1B ? grid.chunks : 1;  // as SpecFor reads V
        }
  // Results land at their index, so the output order does not depend on which thread ran what.
  ParallelFor(rows.size(), threads, [&](size_t i) { rows[i] = RunPoint(rows[i], cost_for, grid); });
  return rows;
}

void ParallelFor(size_t n, unsigned threads, const std::function<void(size_t)>& fn) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<size_t>(threads, std::max<size_t>(1, n)));
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < n; i = next++) fn(i);
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
}

std::vector<Recommendation> Recommend(const std::vector<SweepRow>& rows, const SweepLimits& limits) {
  std::map<uint32_t, Recommendation> by_p;
  auto fits = [&](const SweepRow& r) {
    return r.ok() && (!limits.memory_budget_bytes || r.peak_memory_bytes <= *limits.memory_budget_bytes) &&
           (!limits.max_drift || r.max_drift <= *limits.max_drift);
  };
  for (const SweepRow& r : rows) {
    Recommendation& rec = by_p[r.stages];
    rec.stages = r.stages;
    if (!fits(r)) continue;
    if (!rec.best || r.RankedThroughput() > rec.best->RankedThroughput()) rec.best = r;
  }
  for (const SweepRow& r : rows) {
    Recommendation& rec = by_p[r.stages];
    if (!fits(r) || !rec.best) continue;
    if (r.kind == rec.best->kind && r.staleness.kind == rec.best->staleness.kind &&
        r.staleness.param == rec.best->staleness.param)
      continue;  // the best's own variant: the runner-up is another schedule or compensation
    if (!rec.runner_up || r.RankedThroughput() > rec.runner_up->RankedThroughput()) rec.runner_up = r;
  }
  std::vector<Recommendation> out;
  for (auto& [p, rec] : by_p) out.push_back(std::move(rec));
  return out;
}

}  // namespace paci::sim
