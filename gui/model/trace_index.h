// TraceIndex: a run's ops in the compact, sorted form every view reads. Ops are grouped in rows
// (stage x lane), sorted by start within a row, times shifted so the run starts at 0. A prefix
// maximum of end times makes "ops visible in [t0, t1]" a binary search even when measured ops
// overlap, so a 100,000-op run pans and zooms without scanning. A prefix sum of durations gives
// the busy time of any interval in O(log n), so a zoomed-out view of ten million ops draws busy
// fraction per pixel column instead of ops. Immutable once built; share it between threads
// through std::shared_ptr<const TraceIndex>.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "paci.pb.h"
#include "proto/status.h"
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

class TraceIndexBuilder;

class TraceIndex {
 public:
  // stages: at least this many stages (from the spec); more if the events name higher stages.
  static TraceIndex Build(const std::vector<ir::TraceEvent>& events, uint32_t stages);
  // The same from spans with the events' own times (TraceIndexBuilder collects them).
  static TraceIndex FromSpans(std::vector<OpSpan> spans, uint32_t stages);
  // The ops of a time window of a longer run (spans in the run's own times): times shifted by the
  // run's offset and makespan() the run's, so the window sits where it belongs on the run's axis.
  static TraceIndex ForWindow(std::vector<OpSpan> spans, uint32_t stages, int64_t offset_ns,
                              int64_t makespan_ns);
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
  // Index of the op with this id, or -1. The lookup table is built on the first call (a
  // selection), not while a run loads; safe to call from several threads.
  int64_t FindOpId(uint64_t op_id) const;
  // Time row (stage, lane) is busy within [t0, t1] (ns from the run start): exact when the row's
  // ops do not overlap (simulated runs), at most the sum of their overlaps otherwise.
  double BusyNs(uint32_t stage, ir::Lane lane, double t0, double t1) const;
  // BusyNs / width of each of n consecutive intervals [t0 + i w, t0 + (i + 1) w), clamped to
  // [0, 1]: one pass over the row with a galloping search, for a lane's pixel columns.
  std::vector<float> BusyFractions(uint32_t stage, ir::Lane lane, double t0, double w, size_t n) const;

 private:
  friend class TraceIndexBuilder;
  // The rows laid out, each sorted by (start, op id), with their prefix arrays: from spans in any
  // order (FromSpans) or placed row by row while loading (TraceIndexBuilder).
  size_t RowOf(const OpSpan& s) const { return size_t{s.stage} * kLanesPerStage + s.lane; }
  static TraceIndex Layout(std::vector<OpSpan> spans, uint32_t stages, int64_t offset,
                           int64_t makespan);
  void SortRow(size_t r);     // sorts row r and recomputes its prefix arrays
  void ShiftTimes();          // subtracts offset_ from every time (makespan_ is set already)
  // Busy time of row ops before t: the level-of-detail primitive.
  double BusyBefore(size_t begin, size_t end, double t) const;

  uint32_t stages_ = 0;
  int64_t offset_ = 0;
  int64_t makespan_ = 0;
  std::vector<OpSpan> ops_;
  std::vector<int64_t> max_end_;     // max end of ops_[row begin .. i]
  std::vector<int64_t> busy_sum_;    // sum of durations of ops_[row begin .. i]
  std::vector<size_t> row_begin_;    // size stages * kLanesPerStage + 1
  // Op index by op id: a dense table when ids are dense (expanded schedules), else a hash map.
  struct IdLookup {
    std::once_flag built;
    std::vector<uint32_t> dense;
    std::unordered_map<uint64_t, size_t> sparse;
  };
  std::unique_ptr<IdLookup> ids_ = std::make_unique<IdLookup>();
};

// Indexes a played run's ops as they arrive, straight from an engine or the store
// (TraceStore::PlayRun): ten million ops never exist as TraceEvent messages at once. Given how
// many ops each row will hold (e.g. counted from the schedule IR), every op is written once, into
// its final place, with its row's prefix arrays; a row that arrives in order (an engine reports
// each stage's ops in time order) is never sorted. Without row sizes, or when the ops do not
// match them, it collects spans and lays them out at the end (TraceIndex::FromSpans).
class TraceIndexBuilder : public TraceSink {
 public:
  // stages: at least this many (from the spec). row_sizes: ops per row, indexed
  // stage * kLanesPerStage + lane; empty when unknown. max_stages: an op naming a stage at or
  // above it fails Finish (a damaged store must not make the viewer allocate without bound).
  explicit TraceIndexBuilder(uint32_t stages = 1, std::vector<size_t> row_sizes = {},
                             uint32_t max_stages = 4096);
  void OnOp(const ir::TraceEvent& e) override;
  void OnMemory(const ir::MemorySample& s) override { memory.push_back(s); }
  Result<TraceIndex> Finish() &&;

  std::vector<ir::MemorySample> memory;

 private:
  void Collect(const OpSpan& s);
  void StopPlacing();  // moves what was placed into spans_: the ops did not match row_sizes

  TraceIndex ix_;                 // placed ops, while placing_
  bool placing_ = false;
  std::vector<size_t> next_;      // next free slot per row
  std::vector<bool> row_sorted_;
  int64_t first_start_;
  int64_t last_end_ = std::numeric_limits<int64_t>::min();
  std::vector<OpSpan> spans_;     // collected ops, once not placing_
  uint32_t max_stages_;
  uint64_t bad_stage_ = 0;        // first op stage >= max_stages_, if any (+1)
};

}  // namespace paci::gui
