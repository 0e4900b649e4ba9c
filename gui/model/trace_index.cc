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

namespace {

bool ByStart(const OpSpan& a, const OpSpan& b) {
  if (a.start != b.start) return a.start < b.start;
  return a.op_id < b.op_id;  // ties in id order keep the layout reproducible
}

// Sorts [first, last) by ByStart if that takes at most `budget` moves, and says whether it did;
// otherwise the range is left a permutation of itself. Linear on a row that is almost in order:
// an engine reports a stage's receive lane as the stage consumes the messages, which
// interleaves two senders' messages by the time they were sent.
bool InsertionSortWithin(std::vector<OpSpan>::iterator first, std::vector<OpSpan>::iterator last,
                         size_t budget) {
  for (auto i = first == last ? last : first + 1; i < last; ++i) {
    if (!ByStart(*i, *(i - 1))) continue;
    const OpSpan v = *i;
    auto j = i;
    do {
      *j = *(j - 1);
      --j;
    } while (j > first && ByStart(v, *(j - 1)) && --budget > 0);
    *j = v;
    if (budget == 0) return false;
  }
  return true;
}

}  // namespace

TraceIndex TraceIndex::FromSpans(std::vector<OpSpan> spans, uint32_t stages) {
  int64_t first = std::numeric_limits<int64_t>::max();
  for (const OpSpan& s : spans) first = std::min(first, s.start);
  const int64_t offset = spans.empty() ? 0 : first;
  int64_t makespan = 0;
  for (const OpSpan& s : spans) makespan = std::max(makespan, s.end - offset);
  return Layout(std::move(spans), stages, offset, makespan);
}

TraceIndex TraceIndex::ForWindow(std::vector<OpSpan> spans, uint32_t stages, int64_t offset_ns,
                                 int64_t makespan_ns) {
  return Layout(std::move(spans), stages, offset_ns, makespan_ns);
}

TraceIndex TraceIndex::Layout(std::vector<OpSpan> spans, uint32_t stages, int64_t offset,
                              int64_t makespan) {
  TraceIndex t;
  t.stages_ = std::max<uint32_t>(stages, 1);
  for (const OpSpan& s : spans) t.stages_ = std::max(t.stages_, s.stage + 1);
  t.offset_ = offset;
  t.makespan_ = makespan;
  // Rows in (stage, lane) order by a stable counting pass, then each row by start.
  const size_t rows = size_t{t.stages_} * kLanesPerStage;
  t.row_begin_.assign(rows + 1, 0);
  for (const OpSpan& s : spans) ++t.row_begin_[t.RowOf(s) + 1];
  for (size_t r = 0; r < rows; ++r) t.row_begin_[r + 1] += t.row_begin_[r];
  std::vector<size_t> next(t.row_begin_.begin(), t.row_begin_.end() - 1);
  t.ops_.resize(spans.size());
  for (const OpSpan& s : spans) t.ops_[next[t.RowOf(s)]++] = s;
  spans = {};
  t.max_end_.resize(t.ops_.size());
  t.busy_sum_.resize(t.ops_.size());
  for (size_t r = 0; r < rows; ++r) t.SortRow(r);
  t.ShiftTimes();
  return t;
}

void TraceIndex::SortRow(size_t r) {
  const size_t b = row_begin_[r], e = row_begin_[r + 1];
  if (!InsertionSortWithin(ops_.begin() + b, ops_.begin() + e, 16 * (e - b) + 1024))
    std::sort(ops_.begin() + b, ops_.begin() + e, ByStart);
  for (size_t i = b; i < e; ++i) {
    const OpSpan& s = ops_[i];
    max_end_[i] = i == b ? s.end : std::max(max_end_[i - 1], s.end);
    busy_sum_[i] = (i == b ? 0 : busy_sum_[i - 1]) + (s.end - s.start);
  }
}

void TraceIndex::ShiftTimes() {
  if (offset_ == 0) return;  // simulated runs start at 0
  for (size_t i = 0; i < ops_.size(); ++i) {
    ops_[i].start -= offset_;
    ops_[i].end -= offset_;
    max_end_[i] -= offset_;
  }
}

TraceIndexBuilder::TraceIndexBuilder(uint32_t stages, std::vector<size_t> row_sizes,
                                     uint32_t max_stages)
    : first_start_(std::numeric_limits<int64_t>::max()), max_stages_(max_stages) {
  ix_.stages_ = std::max<uint32_t>(stages, 1);
  const size_t rows = size_t{ix_.stages_} * kLanesPerStage;
  if (row_sizes.size() != rows) return;
  placing_ = true;
  ix_.row_begin_.assign(rows + 1, 0);
  for (size_t r = 0; r < rows; ++r) ix_.row_begin_[r + 1] = ix_.row_begin_[r] + row_sizes[r];
  next_.assign(ix_.row_begin_.begin(), ix_.row_begin_.end() - 1);
  row_sorted_.assign(rows, true);
  ix_.ops_.resize(ix_.row_begin_.back());
  ix_.max_end_.resize(ix_.ops_.size());
  ix_.busy_sum_.resize(ix_.ops_.size());
}

void TraceIndexBuilder::OnOp(const ir::TraceEvent& e) {
  if (e.stage() >= max_stages_) {
    if (!bad_stage_) bad_stage_ = uint64_t{e.stage()} + 1;
    return;
  }
  const OpSpan s = TraceIndex::SpanOf(e);
  if (!placing_) return Collect(s);
  const size_t r = ix_.RowOf(s);
  if (s.stage >= ix_.stages_ || next_[r] == ix_.row_begin_[r + 1]) {
    StopPlacing();
    return Collect(s);
  }
  first_start_ = std::min(first_start_, s.start);
  last_end_ = std::max(last_end_, s.end);
  const size_t i = next_[r]++;
  ix_.ops_[i] = s;
  // The row's prefix arrays as it grows, while the op is in cache.
  if (i == ix_.row_begin_[r]) {
    ix_.max_end_[i] = s.end;
    ix_.busy_sum_[i] = s.end - s.start;
    return;
  }
  const OpSpan& prev = ix_.ops_[i - 1];
  if (row_sorted_[r] && ByStart(s, prev)) row_sorted_[r] = false;
  ix_.max_end_[i] = std::max(ix_.max_end_[i - 1], s.end);
  ix_.busy_sum_[i] = ix_.busy_sum_[i - 1] + (s.end - s.start);
}

void TraceIndexBuilder::Collect(const OpSpan& s) { spans_.push_back(s); }

void TraceIndexBuilder::StopPlacing() {
  placing_ = false;
  size_t placed = 0;
  for (size_t r = 0; r + 1 < ix_.row_begin_.size(); ++r) placed += next_[r] - ix_.row_begin_[r];
  spans_.reserve(placed + 1024);
  for (size_t r = 0; r + 1 < ix_.row_begin_.size(); ++r)
    spans_.insert(spans_.end(), ix_.ops_.begin() + ix_.row_begin_[r], ix_.ops_.begin() + next_[r]);
  const uint32_t stages = ix_.stages_;
  ix_ = TraceIndex();
  ix_.stages_ = stages;
}

Result<TraceIndex> TraceIndexBuilder::Finish() && {
  if (bad_stage_) {
    std::string message = "an op names stage ";
    message += std::to_string(bad_stage_ - 1);
    message += ", beyond the most a run may have (";
    message += std::to_string(max_stages_);
    message += ")";
    return Status::Corruption(message);
  }
  if (placing_) {
    for (size_t r = 0; r + 1 < ix_.row_begin_.size(); ++r) {
      if (next_[r] != ix_.row_begin_[r + 1]) {  // fewer ops than announced
        StopPlacing();
        break;
      }
    }
  }
  if (!placing_) return TraceIndex::FromSpans(std::move(spans_), ix_.stages_);
  ix_.offset_ = ix_.ops_.empty() ? 0 : first_start_;
  ix_.makespan_ = ix_.ops_.empty() ? 0 : last_end_ - first_start_;
  for (size_t r = 0; r < row_sorted_.size(); ++r)
    if (!row_sorted_[r]) ix_.SortRow(r);
  ix_.ShiftTimes();
  return std::move(ix_);
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
  constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
  IdLookup& ids = *ids_;
  std::call_once(ids.built, [&] {
    uint64_t max_id = 0;
    for (const OpSpan& s : ops_) max_id = std::max(max_id, s.op_id);
    if (max_id < 2 * ops_.size() + 1024 && ops_.size() < kNone) {
      ids.dense.assign(max_id + 1, kNone);
      for (size_t i = 0; i < ops_.size(); ++i) ids.dense[ops_[i].op_id] = static_cast<uint32_t>(i);
    } else {
      ids.sparse.reserve(ops_.size());
      for (size_t i = 0; i < ops_.size(); ++i) ids.sparse.emplace(ops_[i].op_id, i);
    }
  });
  if (ids.sparse.empty()) {
    if (op_id >= ids.dense.size() || ids.dense[op_id] == kNone) return -1;
    return ids.dense[op_id];
  }
  auto it = ids.sparse.find(op_id);
  return it == ids.sparse.end() ? -1 : static_cast<int64_t>(it->second);
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
