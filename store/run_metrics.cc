#include "store/run_metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <tuple>
#include <utility>

#include "store/metric_keys.h"
#include "store/trace_store.h"

namespace paci::store {
namespace {

bool IsCompute(const ir::TraceEvent& e) {
  switch (e.kind()) {
    case ir::FORWARD:
    case ir::BACKWARD:
    case ir::BACKWARD_INPUT:
    case ir::BACKWARD_WEIGHT:
    case ir::OPTIMIZER_STEP: return true;
    case ir::OP_KIND_UNSPECIFIED: return e.lane() == ir::LANE_COMPUTE;
    default: return false;
  }
}

// Length of the union of [start, end) intervals; a stage's compute ops should not overlap, but a
// measured trace may, and overlapping time must not count twice.
int64_t UnionLength(std::vector<std::pair<int64_t, int64_t>> spans) {
  std::sort(spans.begin(), spans.end());
  int64_t total = 0, cur_start = 0, cur_end = std::numeric_limits<int64_t>::min();
  for (const auto& [s, e] : spans) {
    if (s > cur_end) {
      if (cur_end > cur_start) total += cur_end - cur_start;
      cur_start = s;
      cur_end = e;
    } else {
      cur_end = std::max(cur_end, e);
    }
  }
  if (cur_end > cur_start) total += cur_end - cur_start;
  return total;
}

void AddDrift(const std::vector<ir::TraceEvent>& ops, std::vector<StageMetrics>* stages) {
  using Key = std::tuple<uint32_t, uint32_t, uint64_t>;  // stage, chunk, micro-batch
  std::map<Key, int64_t> forward_version;
  for (const auto& e : ops) {
    if (e.kind() == ir::FORWARD && e.weight_version() >= 0)
      forward_version[{e.stage(), e.chunk(), e.micro_batch()}] = e.weight_version();
  }
  std::vector<int64_t> sum(stages->size(), 0), count(stages->size(), 0);
  for (const auto& e : ops) {
    if ((e.kind() != ir::BACKWARD && e.kind() != ir::BACKWARD_INPUT) || e.weight_version() < 0) continue;
    auto it = forward_version.find({e.stage(), e.chunk(), e.micro_batch()});
    if (it == forward_version.end()) continue;
    const int64_t drift = e.weight_version() - it->second;
    StageMetrics& m = (*stages)[e.stage()];
    m.max_drift = std::max(m.max_drift.value_or(drift), drift);
    sum[e.stage()] += drift;
    ++count[e.stage()];
  }
  for (size_t s = 0; s < stages->size(); ++s)
    if (count[s] > 0) (*stages)[s].mean_drift = static_cast<double>(sum[s]) / count[s];
}

// The median of `ns` (the mean of the middle two for an even count); 0 when empty.
int64_t MedianNs(std::vector<int64_t> ns) {
  if (ns.empty()) return 0;
  const size_t mid = ns.size() / 2;
  std::nth_element(ns.begin(), ns.begin() + static_cast<std::ptrdiff_t>(mid), ns.end());
  if (ns.size() % 2 == 1) return ns[mid];
  const int64_t upper = ns[mid];
  const int64_t lower = *std::max_element(ns.begin(), ns.begin() + static_cast<std::ptrdiff_t>(mid));
  return lower + (upper - lower) / 2;
}

// Fills every stage's `kinds` from its compute ops.
void AddKindTimes(const std::vector<ir::TraceEvent>& ops, std::vector<StageMetrics>* stages) {
  std::map<std::pair<uint32_t, ir::OpKind>, std::vector<int64_t>> durations;
  for (const auto& e : ops)
    if (IsCompute(e) && e.kind() != ir::OP_KIND_UNSPECIFIED)
      durations[{e.stage(), e.kind()}].push_back(e.end_ns() - e.start_ns());
  for (auto& [key, ns] : durations)
    (*stages)[key.first].kinds[key.second] = {static_cast<int64_t>(ns.size()), MedianNs(std::move(ns))};
}

}  // namespace

RunMetrics ComputeRunMetrics(const std::vector<ir::TraceEvent>& ops,
                             const std::vector<ir::MemorySample>& memory) {
  RunMetrics run;
  if (ops.empty()) return run;
  uint32_t num_stages = 0;
  int64_t first = std::numeric_limits<int64_t>::max(), last = std::numeric_limits<int64_t>::min();
  for (const auto& e : ops) {
    num_stages = std::max(num_stages, e.stage() + 1);
    first = std::min(first, e.start_ns());
    last = std::max(last, e.end_ns());
  }
  for (const auto& s : memory) num_stages = std::max(num_stages, s.stage() + 1);
  run.start_ns = first;
  run.makespan_ns = last - first;
  run.stages.resize(num_stages);
  std::vector<std::vector<std::pair<int64_t, int64_t>>> spans(num_stages);
  for (const auto& e : ops) {
    StageMetrics& m = run.stages[e.stage()];
    ++m.ops;
    m.peak_live_bytes = std::max<uint64_t>(m.peak_live_bytes, e.live_bytes());
    if (IsCompute(e)) spans[e.stage()].emplace_back(e.start_ns(), e.end_ns());
  }
  for (const auto& s : memory) {
    StageMetrics& m = run.stages[s.stage()];
    m.peak_live_bytes = std::max<uint64_t>(m.peak_live_bytes, s.live_bytes());
  }
  int64_t busy_total = 0;
  for (uint32_t s = 0; s < num_stages; ++s) {
    StageMetrics& m = run.stages[s];
    m.stage = s;
    m.busy_ns = UnionLength(std::move(spans[s]));
    m.idle_ns = run.makespan_ns - m.busy_ns;
    m.bubble_fraction = run.makespan_ns > 0 ? static_cast<double>(m.idle_ns) / run.makespan_ns : 0;
    busy_total += m.busy_ns;
  }
  const double window = static_cast<double>(run.makespan_ns) * num_stages;
  run.bubble_fraction = window > 0 ? (window - busy_total) / window : 0;
  AddDrift(ops, &run.stages);
  AddKindTimes(ops, &run.stages);
  return run;
}

namespace {

// Says why two runs' ops cannot be paired by id, or "" when they can.
std::string OpsDiffer(const std::vector<ir::TraceEvent>& a, const std::vector<ir::TraceEvent>& b) {
  if (a.size() != b.size()) return fmt::format("op counts differ ({} vs {})", a.size(), b.size());
  std::map<uint64_t, const ir::TraceEvent*> by_id;
  for (const auto& e : b) by_id[e.op_id()] = &e;
  for (const auto& e : a) {
    auto it = by_id.find(e.op_id());
    if (it == by_id.end()) return fmt::format("op {} is only in the first run", e.op_id());
    const ir::TraceEvent& o = *it->second;
    if (o.stage() != e.stage() || o.kind() != e.kind() || o.chunk() != e.chunk() ||
        o.micro_batch() != e.micro_batch()) {
      return fmt::format("op {} differs in stage, kind, chunk or micro-batch", e.op_id());
    }
  }
  return "";
}

ResidualSummary Summarize(const std::vector<OpResidual>& residuals) {
  ResidualSummary s;
  s.count = static_cast<int64_t>(residuals.size());
  if (residuals.empty()) return s;
  double sq_start = 0, sq_dur = 0;
  for (const auto& r : residuals) {
    const double ds = std::abs(static_cast<double>(r.start_residual_ns));
    const double dd = std::abs(static_cast<double>(r.duration_residual_ns));
    s.mean_abs_start_ns += ds;
    s.mean_abs_duration_ns += dd;
    s.max_abs_start_ns = std::max(s.max_abs_start_ns, ds);
    s.max_abs_duration_ns = std::max(s.max_abs_duration_ns, dd);
    sq_start += ds * ds;
    sq_dur += dd * dd;
  }
  const double n = static_cast<double>(residuals.size());
  s.mean_abs_start_ns /= n;
  s.mean_abs_duration_ns /= n;
  s.rms_start_ns = std::sqrt(sq_start / n);
  s.rms_duration_ns = std::sqrt(sq_dur / n);
  return s;
}

}  // namespace

RunComparison CompareRuns(const RunData& a, const RunData& b) {
  RunComparison c;
  c.a = ComputeRunMetrics(a);
  c.b = ComputeRunMetrics(b);
  c.makespan_error_pct =
      MakespanErrorPct(static_cast<double>(c.a.makespan_ns), static_cast<double>(c.b.makespan_ns));
  c.why_no_residuals = OpsDiffer(a.ops, b.ops);
  c.same_ops = c.why_no_residuals.empty();
  if (!c.same_ops) return c;
  std::map<uint64_t, const ir::TraceEvent*> b_by_id;
  for (const auto& e : b.ops) b_by_id[e.op_id()] = &e;
  for (const auto& e : a.ops) {
    const ir::TraceEvent& o = *b_by_id[e.op_id()];
    c.residuals.push_back({e.op_id(), (e.start_ns() - c.a.start_ns) - (o.start_ns() - c.b.start_ns),
                           (e.end_ns() - e.start_ns()) - (o.end_ns() - o.start_ns())});
  }
  std::sort(c.residuals.begin(), c.residuals.end(),
            [](const OpResidual& x, const OpResidual& y) { return x.op_id < y.op_id; });
  c.summary = Summarize(c.residuals);
  return c;
}

}  // namespace paci::store

namespace paci::store {

double PredictionErrorPct(double predicted, double measured) {
  if (measured > 0) return 100.0 * (predicted - measured) / measured;
  return predicted > 0 ? std::numeric_limits<double>::infinity() : 0.0;
}

Result<std::map<int64_t, RunHeadline>> LoadRunHeadlines(TraceStore& store) {
  const std::vector<std::string> keys = {std::string(metric::kValLoss), std::string(metric::kTokensPerS),
                                         std::string(metric::kMakespanNs),
                                         std::string(metric::kThroughputMicrobatchesPerS)};
  auto metrics = store.ListMetrics(keys);
  if (!metrics.ok()) return metrics.status();
  auto links = store.ListLinks();
  if (!links.ok()) return links.status();
  std::map<int64_t, RunHeadline> out;
  for (const auto& entry : *metrics) {
    // Named, not a structured binding: clang 14 (the fuzz build) cannot capture those.
    const auto& values = entry.second;
    RunHeadline& h = out[entry.first];
    auto get = [&](const std::string& key) {
      auto it = values.find(key);
      return it == values.end() ? std::nullopt : std::optional<double>(it->second);
    };
    h.val_loss = get(keys[0]);
    h.tokens_per_s = get(keys[1]);
    h.makespan_ns = get(keys[2]);
    h.microbatches_per_s = get(keys[3]);
  }
  // Runs that take part in a link and store no makespan (recorded before every run kind kept
  // it): the extent of their op rows, by one aggregate each.
  for (const auto& [pred, meas] : *links) {
    for (int64_t run : {pred, meas}) {
      RunHeadline& h = out[run];
      if (h.makespan_ns) continue;
      auto extent = store.StoredOpExtentNs(run);
      if (!extent.ok()) return extent.status();
      if (*extent) h.makespan_ns = static_cast<double>(**extent);
    }
  }
  for (const auto& [pred, meas] : *links) {  // by predicted then measured: the latest wins
    const RunHeadline& p = out[pred];
    const RunHeadline& m = out[meas];
    if (!p.makespan_ns || !m.makespan_ns) continue;
    const double error = MakespanErrorPct(*p.makespan_ns, *m.makespan_ns);
    out[pred].makespan_error_pct = error;
    out[pred].partner = meas;
    out[meas].makespan_error_pct = error;
    out[meas].partner = pred;
  }
  return out;
}

}  // namespace paci::store
