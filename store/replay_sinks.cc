#include "store/replay_sinks.h"

#include <fmt/format.h>

#include <algorithm>

namespace paci::store {

void OpTiler::Acc::Add(const Acc& o) {
  busy_ns += o.busy_ns;
  ops += o.ops;
  max_end_ns = std::max(max_end_ns, o.max_end_ns);
  min_op_id = std::min(min_op_id, o.min_op_id);
  max_op_id = std::max(max_op_id, o.max_op_id);
}

OpTiler::OpTiler(int64_t op_count, uint32_t max_stages)
    : tiles_(std::clamp<int64_t>(op_count / kOpsPerTile, 1, kMaxTilesPerSpan)), max_stages_(max_stages) {}

void OpTiler::Widen(int64_t tile) {
  int64_t fold = 1;
  while (tile / fold >= tiles_) fold *= 2;
  tile_ns_ *= fold;
  for (std::vector<Acc>& row : rows_) {
    std::vector<Acc> wide((row.size() + fold - 1) / fold);
    for (size_t i = 0; i < row.size(); ++i) wide[i / fold].Add(row[i]);
    row = std::move(wide);
  }
}

void OpTiler::OnOp(const ir::TraceEvent& e) {
  if (e.stage() >= max_stages_) {
    if (!bad_stage_) bad_stage_ = uint64_t{e.stage()} + 1;
    return;
  }
  if (!started_) {
    started_ = true;
    origin_ = e.start_ns();
    last_end_ = e.end_ns();
  }
  ++ops_;
  last_end_ = std::max(last_end_, e.end_ns());
  int64_t tile = std::max<int64_t>(0, e.start_ns() - origin_) / tile_ns_;
  if (tile >= tiles_) {
    Widen(tile);
    tile = std::max<int64_t>(0, e.start_ns() - origin_) / tile_ns_;
  }
  const size_t r = size_t{e.stage()} * 3 + static_cast<size_t>(std::clamp<int>(e.lane(), 0, 2));
  if (r >= rows_.size()) rows_.resize(r + 1);
  std::vector<Acc>& row = rows_[r];
  if (static_cast<size_t>(tile) >= row.size()) row.resize(tile + 1);
  Acc& a = row[tile];
  a.busy_ns += e.end_ns() - e.start_ns();
  a.ops += 1;
  a.max_end_ns = std::max(a.max_end_ns, e.end_ns());
  a.min_op_id = std::min<uint64_t>(a.min_op_id, e.op_id());
  a.max_op_id = std::max<uint64_t>(a.max_op_id, e.op_id());
}

Result<OpTileSummary> OpTiler::Finish() && {
  if (bad_stage_)
    return Status::Corruption(
        fmt::format("an op names stage {}, beyond the limit of {} stages", bad_stage_ - 1, max_stages_));
  OpTileSummary s;
  s.first_start_ns = origin_;
  s.last_end_ns = last_end_;
  s.tile_ns = tile_ns_;
  s.op_count = ops_;
  for (size_t r = 0; r < rows_.size(); ++r)
    for (size_t t = 0; t < rows_[r].size(); ++t) {
      const Acc& a = rows_[r][t];
      if (a.ops == 0) continue;
      s.tiles.push_back(OpTile{static_cast<uint32_t>(r / 3), static_cast<int32_t>(r % 3),
                               static_cast<int64_t>(t), a.busy_ns, a.ops, a.min_op_id, a.max_op_id,
                               a.max_end_ns});
    }
  return s;
}

void OpWindowSink::OnOp(const ir::TraceEvent& e) {
  ++seen_;
  if (w_.truncated || e.start_ns() >= end_ || e.end_ns() <= start_) return;
  if (static_cast<int64_t>(w_.ops.size()) >= max_ops_) {
    w_.truncated = true;
    w_.ops = {};
    return;
  }
  w_.ops.push_back(e);
}

OpWindow OpWindowSink::Finish() && {
  std::sort(w_.ops.begin(), w_.ops.end(),
            [](const ir::TraceEvent& a, const ir::TraceEvent& b) { return a.op_id() < b.op_id(); });
  w_.ids_read = seen_;
  return std::move(w_);
}

}  // namespace paci::store
