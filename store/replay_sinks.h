// Sinks that summarise or filter a run as it plays (TraceStore::PlayRun), so that a run kept by
// its IR and re-simulated when read (9 M ops) never sits in memory whole: OpTiler gives its
// level-of-detail summary, OpWindowSink the ops of one time window. What a viewer needs to open
// such a run as it opens one stored op by op: from tiles first, then a window at a time.
#pragma once

#include <cstdint>
#include <vector>

#include "paci.pb.h"
#include "proto/status.h"
#include "proto/trace_sink.h"
#include "store/op_tiles.h"

namespace paci::store {

// The op_tiles summary (op_tiles.h) of ops in any order: per stage and lane, one accumulator per
// tile. The span is not known in advance, so the tiles start 1 ns wide and double (folding pairs)
// whenever an op starts past `tiles` of them: at most `tiles` per row, at least half as many,
// whatever the span. Tiles count from the first op's start (the simulator's first op starts at
// the run's 0); an earlier op counts in tile 0.
class OpTiler : public TraceSink {
 public:
  // op_count: the ops expected; the tiles per row aimed at, op_count / kOpsPerTile within
  // [1, kMaxTilesPerSpan], as WriteOpTiles chooses. max_stages: an op at or above it fails Finish.
  explicit OpTiler(int64_t op_count, uint32_t max_stages = 4096);
  void OnOp(const ir::TraceEvent& e) override;
  Result<OpTileSummary> Finish() &&;

 private:
  struct Acc {
    int64_t busy_ns = 0, ops = 0, max_end_ns = 0;
    uint64_t min_op_id = UINT64_MAX, max_op_id = 0;
    void Add(const Acc& o);
  };
  void Widen(int64_t tile);  // doubles tile_ns_ until `tile` (at the old width) fits

  int64_t tiles_;
  uint32_t max_stages_;
  int64_t tile_ns_ = 1;
  bool started_ = false;
  int64_t origin_ = 0, last_end_ = 0, ops_ = 0;
  uint64_t bad_stage_ = 0;              // first op stage >= max_stages_, plus one
  std::vector<std::vector<Acc>> rows_;  // stage * 3 + lane, then tile
};

// The ops with start < end_ns and end > start_ns (run clock), by op id; more than max_ops:
// truncated and none kept (as TraceStore::LoadOpWindow). Memory samples are not kept.
class OpWindowSink : public TraceSink {
 public:
  OpWindowSink(int64_t start_ns, int64_t end_ns, int64_t max_ops)
      : start_(start_ns), end_(end_ns), max_ops_(max_ops) {}
  void OnOp(const ir::TraceEvent& e) override;
  OpWindow Finish() &&;  // sorted by op id

 private:
  int64_t start_, end_, max_ops_;
  int64_t seen_ = 0;  // ops played
  OpWindow w_;
};

}  // namespace paci::store
