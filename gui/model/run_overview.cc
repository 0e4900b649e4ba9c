#include "gui/model/run_overview.h"

#include <algorithm>
#include <cmath>

namespace paci::gui {

RunOverview::RunOverview(uint32_t stages, int64_t tile_ns, int64_t makespan_ns, int64_t op_count,
                         const std::vector<Tile>& tiles)
    : stages_(std::max<uint32_t>(stages, 1)), tile_ns_(std::max<int64_t>(tile_ns, 1)),
      makespan_(makespan_ns), op_count_(op_count), rows_(size_t{stages_} * kLanesPerStage) {
  std::vector<const Tile*> sorted;
  sorted.reserve(tiles.size());
  for (const Tile& t : tiles)
    if (t.stage < stages_ && t.lane >= 0 && t.lane < kLanesPerStage && t.tile >= 0) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(), [](const Tile* a, const Tile* b) {
    if (a->stage != b->stage) return a->stage < b->stage;
    return a->lane != b->lane ? a->lane < b->lane : a->tile < b->tile;
  });
  for (const Tile* t : sorted) {
    Row& r = rows_[size_t{t->stage} * kLanesPerStage + t->lane];
    const int64_t busy_before = r.busy_sum.empty() ? 0 : r.busy_sum.back();
    const int64_t ops_before = r.ops_sum.empty() ? 0 : r.ops_sum.back();
    r.tile.push_back(t->tile);
    r.busy.push_back(t->busy_ns);
    r.busy_sum.push_back(busy_before + t->busy_ns);
    r.ops_sum.push_back(ops_before + t->ops);
  }
}

double RunOverview::BusyBefore(const Row& row, double t) const {
  t = std::clamp(t, -1.0, static_cast<double>(makespan_ + tile_ns_));  // past it all is counted
  const double tile_at = std::floor(t / static_cast<double>(tile_ns_));
  // Tiles wholly before t count whole; the tile holding t counts the share of it before t.
  const size_t j = std::lower_bound(row.tile.begin(), row.tile.end(), tile_at,
                                    [](int64_t a, double b) { return static_cast<double>(a) < b; }) -
                   row.tile.begin();
  double sum = j == 0 ? 0.0 : static_cast<double>(row.busy_sum[j - 1]);
  if (j < row.tile.size() && static_cast<double>(row.tile[j]) == tile_at) {
    const double into = (t - tile_at * static_cast<double>(tile_ns_)) / static_cast<double>(tile_ns_);
    sum += static_cast<double>(row.busy[j]) * std::clamp(into, 0.0, 1.0);
  }
  return sum;
}

std::vector<float> RunOverview::BusyFractions(uint32_t stage, ir::Lane lane, double t0, double w,
                                              size_t n) const {
  std::vector<float> out(n, 0.0f);
  if (stage >= stages_ || lane < 0 || lane >= kLanesPerStage || w <= 0) return out;
  const Row& row = rows_[size_t{stage} * kLanesPerStage + lane];
  if (row.tile.empty()) return out;
  double before = BusyBefore(row, t0);
  for (size_t i = 0; i < n; ++i) {
    const double after = BusyBefore(row, t0 + static_cast<double>(i + 1) * w);
    out[i] = static_cast<float>(std::clamp((after - before) / w, 0.0, 1.0));
    before = after;
  }
  return out;
}

int64_t RunOverview::OpsBefore(const Row& row, int64_t tile) const {
  const size_t j = std::lower_bound(row.tile.begin(), row.tile.end(), tile) - row.tile.begin();
  return j == 0 ? 0 : row.ops_sum[j - 1];
}

int64_t RunOverview::OpsIn(double t0, double t1) const {
  // Clamped to the run, so that a view zoomed far out cannot overflow the tile index.
  auto tile_of = [&](double t) {
    return static_cast<int64_t>(std::floor(std::clamp(t, 0.0, static_cast<double>(makespan_)) /
                                           static_cast<double>(tile_ns_)));
  };
  const int64_t first = tile_of(t0), last = tile_of(t1);
  int64_t n = 0;
  for (const Row& row : rows_) n += OpsBefore(row, last + 1) - OpsBefore(row, first);
  return n;
}

}  // namespace paci::gui
