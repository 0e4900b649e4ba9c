// TraceIndex: a run's ops in the compact, sorted form every view reads. Ops are grouped in rows
// (stage x lane), sorted by start within a row, times shifted so the run starts at 0. A prefix
// maximum of end times makes "ops visible in [t0, t1]" a binary search even when measured ops
// overlap, so a 100,000-op run pans and zooms without scanning. A prefix sum of durations gives
// the busy time of any interval in O(log n), so a zoomed-out view of ten million ops draws busy
// fraction per pixel column instead of ops. Immutable once built; share it between threads
// through std::shared_ptr<const TraceIndex>.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

#include "paci.pb.h"
#include "proto/trace_sink.h"

namespace paci::gui {

struct OpSpan {
  int64_t start = 0;  // ns from the run's first op
  int64_t end = 0;
  uint64_t op_id = 0;
  uint64_t micro_batch = 0;
  int64_t version = -1;
  uint64_t live_bytes = 0;
  uint32_t stage = 0;
  uint32_t chunk = 0;
  ir::OpKind kind = ir::OP_KIND_UNSPECIFIED;
  ir::Lane lane = ir::LANE_COMPUTE;
};

inline constexpr int kLanesPerStage = 3;  // compute, send, recv (ir::Lane values)

class TraceIndex {
 public:
  // stages: at least this many stages (from the spec); more if the events name higher stages.
  static TraceIndex Build(const std::vector<ir::TraceEvent>& events, uint32_t stages);
  // The same from spans with the events' own times (TraceIndexBuilder collects them).
  static TraceIndex FromSpans(std::vector<OpSpan> spans, uint32_t stages);
  static OpSpan SpanOf(const ir::TraceEvent& e);

  uint32_t stages() const { return stages_; }
  int64_t offset_ns() const { return offset_; }  // subtracted from every event time
  int64_t makespan() const { return makespan_; }
  const std::vector<OpSpan>& ops() const { return ops_; }
  const OpSpan& op(size_t i) const { return ops_[i]; }

  // [begin, end) of row (stage, lane) in ops().
  std::pair<size_t, size_t> Row(uint32_t stage, ir::Lane lane) const;
  // Index range within the row of ops that may intersect [t0, t1]: every op outside it does not.
  std::pair<size_t, size_t> Visible(uint32_t stage, ir::Lane lane, double t0, double t1) const;
  // The ops as events again, by op id, in the run's own times: for a run loaded without events.
  std::vector<ir::TraceEvent> Events() const;
  // Index of the op with this id, or -1.
  int64_t FindOpId(uint64_t op_id) const;
  // Time row (stage, lane) is busy within [t0, t1] (ns from the run start): exact when the row's
  // ops do not overlap (simulated runs), at most the sum of their overlaps otherwise.
  double BusyNs(uint32_t stage, ir::Lane lane, double t0, double t1) const;
  // BusyNs / width of each of n consecutive intervals [t0 + i w, t0 + (i + 1) w), clamped to
  // [0, 1]: one pass over the row with a galloping search, for a lane's pixel columns.
  std::vector<float> BusyFractions(uint32_t stage, ir::Lane lane, double t0, double w, size_t n) const;

 private:
  uint32_t stages_ = 0;
  int64_t offset_ = 0;
  int64_t makespan_ = 0;
  std::vector<OpSpan> ops_;
  // Busy time of row ops before t: the level-of-detail primitive.
  double BusyBefore(size_t begin, size_t end, double t) const;

  std::vector<int64_t> max_end_;     // max end of ops_[row begin .. i]
  std::vector<int64_t> busy_sum_;    // sum of durations of ops_[row begin .. i]
  std::vector<size_t> row_begin_;    // size stages * kLanesPerStage + 1
  // Op index by op id: a dense table when ids are dense (expanded schedules), else a hash map.
  std::vector<uint32_t> index_of_id_;
  std::unordered_map<uint64_t, size_t> by_id_;
};

// Collects a played run's ops as spans and memory samples, straight from an engine or the store
// (TraceStore::PlayRun): ten million ops never exist as TraceEvent messages at once.
class TraceIndexBuilder : public TraceSink {
 public:
  void OnOp(const ir::TraceEvent& e) override { spans.push_back(TraceIndex::SpanOf(e)); }
  void OnMemory(const ir::MemorySample& s) override { memory.push_back(s); }
  std::vector<OpSpan> spans;
  std::vector<ir::MemorySample> memory;
};

}  // namespace paci::gui
