#include "gui/model/trace_index.h"

#include <algorithm>
#include <limits>

namespace paci::gui {

OpSpan TraceIndex::SpanOf(const ir::TraceEvent& e) {
  OpSpan s;
  s.start = e.start_ns();
  s.end = std::max(e.end_ns(), e.start_ns());
  s.op_id = e.op_id();
  s.micro_batch = e.micro_batch();
  s.version = e.weight_version();
  s.live_bytes = e.live_bytes();
  s.stage = e.stage();
  s.chunk = e.chunk();
  s.kind = e.kind();
  s.lane = (e.lane() >= 0 && e.lane() < kLanesPerStage) ? e.lane() : ir::LANE_COMPUTE;
  return s;
}

TraceIndex TraceIndex::Build(const std::vector<ir::TraceEvent>& events, uint32_t stages) {
  std::vector<OpSpan> spans;
  spans.reserve(events.size());
  for (const auto& e : events) spans.push_back(SpanOf(e));
  return FromSpans(std::move(spans), stages);
}

TraceIndex TraceIndex::FromSpans(std::vector<OpSpan> spans, uint32_t stages) {
  TraceIndex t;
  t.stages_ = std::max<uint32_t>(stages, 1);
  int64_t first = std::numeric_limits<int64_t>::max();
  for (const OpSpan& s : spans) {
    t.stages_ = std::max(t.stages_, s.stage + 1);
    first = std::min(first, s.start);
  }
  t.offset_ = spans.empty() ? 0 : first;
  for (OpSpan& s : spans) {
    s.start -= t.offset_;
    s.end -= t.offset_;
    t.makespan_ = std::max(t.makespan_, s.end);
  }
  // Rows in (stage, lane) order by a stable counting pass, then each row by start; a row that
  // arrives in order (an engine's ops usually do) is only checked, so ten million ops index in
  // linear time.
  auto row_of = [](const OpSpan& s) { return size_t{s.stage} * kLanesPerStage + s.lane; };
  const size_t rows = size_t{t.stages_} * kLanesPerStage;
  std::vector<size_t> next(rows + 1, 0);
  for (const OpSpan& s : spans) ++next[row_of(s) + 1];
  for (size_t r = 0; r < rows; ++r) next[r + 1] += next[r];
  t.ops_.resize(spans.size());
  for (const OpSpan& s : spans) t.ops_[next[row_of(s)]++] = s;
  spans = {};
  auto by_start = [](const OpSpan& a, const OpSpan& b) {
    if (a.start != b.start) return a.start < b.start;
    return a.op_id < b.op_id;  // ties in id order keep the layout reproducible
  };
  for (size_t r = 0, begin = 0; r < rows; begin = next[r], ++r) {
    const auto first = t.ops_.begin() + begin, last = t.ops_.begin() + next[r];
    if (!std::is_sorted(first, last, by_start)) std::sort(first, last, by_start);
  }
  t.row_begin_.assign(rows + 1, t.ops_.size());
  t.max_end_.resize(t.ops_.size());
  t.busy_sum_.resize(t.ops_.size());
  for (size_t i = t.ops_.size(); i-- > 0;) t.row_begin_[row_of(t.ops_[i])] = i;
  for (size_t r = rows; r-- > 0;) t.row_begin_[r] = std::min(t.row_begin_[r], t.row_begin_[r + 1]);
  uint64_t max_id = 0;
  for (size_t i = 0; i < t.ops_.size(); ++i) {
    const OpSpan& s = t.ops_[i];
    const bool row_start = i == 0 || row_of(s) != row_of(t.ops_[i - 1]);
    t.max_end_[i] = row_start ? s.end : std::max(t.max_end_[i - 1], s.end);
    t.busy_sum_[i] = (row_start ? 0 : t.busy_sum_[i - 1]) + (s.end - s.start);
    max_id = std::max(max_id, s.op_id);
  }
  constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
  if (max_id < 2 * t.ops_.size() + 1024 && t.ops_.size() < kNone) {
    t.index_of_id_.assign(max_id + 1, kNone);
    for (size_t i = 0; i < t.ops_.size(); ++i) t.index_of_id_[t.ops_[i].op_id] = static_cast<uint32_t>(i);
  } else {
    t.by_id_.reserve(t.ops_.size());
    for (size_t i = 0; i < t.ops_.size(); ++i) t.by_id_.emplace(t.ops_[i].op_id, i);
  }
  return t;
}

std::pair<size_t, size_t> TraceIndex::Row(uint32_t stage, ir::Lane lane) const {
  if (stage >= stages_ || lane < 0 || lane >= kLanesPerStage) return {0, 0};
  const size_t r = size_t{stage} * kLanesPerStage + lane;
  return {row_begin_[r], row_begin_[r + 1]};
}

std::pair<size_t, size_t> TraceIndex::Visible(uint32_t stage, ir::Lane lane, double t0,
                                              double t1) const {
  const auto [b, e] = Row(stage, lane);
  // First op whose running max end reaches t0: everything before it ended earlier.
  const size_t lo = std::partition_point(max_end_.begin() + b, max_end_.begin() + e,
                                         [&](int64_t m) { return m < t0; }) - max_end_.begin();
  // First op starting after t1: it and everything after it start later.
  const size_t hi = std::partition_point(ops_.begin() + lo, ops_.begin() + e,
                                         [&](const OpSpan& s) { return s.start <= t1; }) -
                    ops_.begin();
  return {lo, hi};
}

std::vector<ir::TraceEvent> TraceIndex::Events() const {
  std::vector<ir::TraceEvent> out(ops_.size());
  for (size_t i = 0; i < ops_.size(); ++i) {
    const OpSpan& s = ops_[i];
    ir::TraceEvent& e = out[i];
    e.set_op_id(s.op_id);
    e.set_stage(s.stage);
    e.set_chunk(s.chunk);
    e.set_micro_batch(s.micro_batch);
    e.set_kind(s.kind);
    e.set_lane(s.lane);
    e.set_start_ns(s.start + offset_);
    e.set_end_ns(s.end + offset_);
    e.set_weight_version(s.version);
    e.set_live_bytes(s.live_bytes);
  }
  std::sort(out.begin(), out.end(),
            [](const ir::TraceEvent& a, const ir::TraceEvent& b) { return a.op_id() < b.op_id(); });
  return out;
}

int64_t TraceIndex::FindOpId(uint64_t op_id) const {
  if (!index_of_id_.empty()) {
    if (op_id >= index_of_id_.size() || index_of_id_[op_id] == std::numeric_limits<uint32_t>::max()) return -1;
    return index_of_id_[op_id];
  }
  auto it = by_id_.find(op_id);
  return it == by_id_.end() ? -1 : static_cast<int64_t>(it->second);
}

double TraceIndex::BusyBefore(size_t begin, size_t end, double t) const {
  // Ops starting before t, all counted whole, minus the part of the last one that runs past t.
  const size_t k = std::partition_point(ops_.begin() + begin, ops_.begin() + end,
                                        [&](const OpSpan& s) { return s.start < t; }) - ops_.begin();
  if (k == begin) return 0;
  return static_cast<double>(busy_sum_[k - 1]) - std::max(0.0, ops_[k - 1].end - t);
}

std::vector<float> TraceIndex::BusyFractions(uint32_t stage, ir::Lane lane, double t0, double w,
                                             size_t n) const {
  std::vector<float> out(n, 0.0f);
  const auto [b, e] = Row(stage, lane);
  if (b == e || w <= 0) return out;
  // Busy time before t, with k the first op starting at or after t; k only moves forward.
  size_t k = b;
  auto busy_before = [&](double t) {
    size_t step = 1;  // gallop from k, then binary search the last stride
    while (k + step < e && ops_[k + step - 1].start < t) step *= 2;
    k = std::partition_point(ops_.begin() + k, ops_.begin() + std::min(e, k + step),
                             [&](const OpSpan& s) { return s.start < t; }) - ops_.begin();
    if (k == b) return 0.0;
    return static_cast<double>(busy_sum_[k - 1]) - std::max(0.0, ops_[k - 1].end - t);
  };
  double before = busy_before(t0);
  for (size_t i = 0; i < n; ++i) {
    const double after = busy_before(t0 + (i + 1) * w);
    out[i] = static_cast<float>(std::clamp((after - before) / w, 0.0, 1.0));
    before = after;
  }
  return out;
}

double TraceIndex::BusyNs(uint32_t stage, ir::Lane lane, double t0, double t1) const {
  const auto [b, e] = Row(stage, lane);
  if (b == e || t1 <= t0) return 0;
  return std::max(0.0, BusyBefore(b, e, t1) - BusyBefore(b, e, t0));
}

}  // namespace paci::gui
