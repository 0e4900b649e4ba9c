// RunOverview: the far-out zoom levels of a long run whose ops are not all in memory. Per stage
// and lane, the busy time and op count of fixed time tiles (the store's op_tiles summary, a few
// hundred thousand tiles for ten million ops), with prefix sums so that a pixel column's busy
// fraction and the number of ops in a time range are binary searches. Times are ns from the
// run's first op, as in TraceIndex. Immutable once built.
#pragma once

#include <cstdint>
#include <vector>

#include "gui/model/trace_index.h"

namespace paci::gui {

class RunOverview {
 public:
  struct Tile {
    uint32_t stage = 0;
    int lane = 0;        // ir::Lane
    int64_t tile = 0;    // covers op starts in [tile * tile_ns, (tile + 1) * tile_ns)
    int64_t busy_ns = 0; // its ops' durations, each op counted whole in its start tile
    int64_t ops = 0;
  };
  // tiles in any order; a tile naming a stage at or above `stages` or a lane outside 0..2 is
  // ignored (the timeline has no row for it).
  RunOverview(uint32_t stages, int64_t tile_ns, int64_t makespan_ns, int64_t op_count,
              const std::vector<Tile>& tiles);

  uint32_t stages() const { return stages_; }
  int64_t tile_ns() const { return tile_ns_; }
  int64_t makespan() const { return makespan_; }
  int64_t op_count() const { return op_count_; }

  // Busy fraction of row (stage, lane) in each of n intervals [t0 + i w, t0 + (i + 1) w),
  // clamped to [0, 1]; within a tile the busy time is spread evenly.
  std::vector<float> BusyFractions(uint32_t stage, ir::Lane lane, double t0, double w, size_t n) const;
  // Ops (all rows) that start in the tiles meeting [t0, t1]: about the ops in view.
  int64_t OpsIn(double t0, double t1) const;

 private:
  struct Row {
    std::vector<int64_t> tile;      // sorted tile indices that hold ops
    std::vector<int64_t> busy;      // busy_ns of each
    std::vector<int64_t> busy_sum;  // prefix sums: busy of tiles [0, i]
    std::vector<int64_t> ops_sum;   // op counts, likewise
  };
  double BusyBefore(const Row& row, double t) const;
  int64_t OpsBefore(const Row& row, int64_t tile) const;  // ops in tiles < tile

  uint32_t stages_;
  int64_t tile_ns_;
  int64_t makespan_;
  int64_t op_count_;
  std::vector<Row> rows_;  // stage * kLanesPerStage + lane
};

}  // namespace paci::gui
