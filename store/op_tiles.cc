#include "store/op_tiles.h"

#include <algorithm>
#include <cstdint>
#include <unordered_map>

#include <fmt/format.h>

#include "store/sqlite_db.h"

namespace paci::store {
namespace {

// A tile's key: stage, lane and tile index packed so that sorting keys sorts tiles.
uint64_t TileKey(uint32_t stage, int64_t lane, int64_t tile) {
  return (uint64_t{stage} << 40) | (static_cast<uint64_t>(lane & 0xff) << 32) |
         static_cast<uint64_t>(tile);
}

struct RunSpan {
  int64_t op_count = 0;
  int64_t first_start = 0, last_end = 0;
  std::optional<int64_t> tile_ns;
};

Result<RunSpan> ReadRunSpan(const SqliteDb& db, int64_t run_id) {
  auto stmt = SqliteStmt::Prepare(
      db, "SELECT coalesce(op_count, 0), first_start_ns, last_end_ns, tile_ns FROM runs WHERE id = ?1");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, run_id);
  bool row = false;
  PACI_RETURN_IF_ERROR(stmt->Step(&row));
  if (!row) return Status::NotFound(fmt::format("{}: no run {}", db.path(), run_id));
  RunSpan s;
  s.op_count = stmt->Int(0);
  s.first_start = stmt->Int(1);
  s.last_end = stmt->Int(2);
  if (!stmt->IsNull(3)) s.tile_ns = stmt->Int(3);
  return s;
}

// Op-id ranges [first, last], sorted and merged where they touch or nearly do: one range read
// per stretch of ids instead of one per tile.
std::vector<std::pair<uint64_t, uint64_t>> MergeRanges(std::vector<std::pair<uint64_t, uint64_t>> r) {
  constexpr uint64_t kGap = 256;  // ids between two ranges worth reading to save a query
  std::sort(r.begin(), r.end());
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (const auto& [lo, hi] : r) {
    if (!out.empty() && lo <= out.back().second + kGap) {
      out.back().second = std::max(out.back().second, hi);
    } else {
      out.emplace_back(lo, hi);
    }
  }
  return out;
}

}  // namespace

ir::TraceEvent ReadOpRow(const SqliteStmt& s) {
  ir::TraceEvent e;
  e.set_op_id(s.Int(0));
  e.set_stage(s.Int(1));
  e.set_chunk(s.Int(2));
  e.set_micro_batch(s.Int(3));
  e.set_kind(static_cast<ir::OpKind>(s.Int(4)));
  e.set_lane(static_cast<ir::Lane>(s.Int(5)));
  e.set_start_ns(s.Int(6));
  e.set_end_ns(s.Int(7));
  e.set_weight_version(s.Int(8));
  e.set_live_bytes(s.Int(9));
  return e;
}

Status WriteOpTiles(SqliteDb& db, int64_t run_id) {
  auto span = ReadRunSpan(db, run_id);
  if (!span.ok()) return span.status();
  auto clear = SqliteStmt::Prepare(db, "DELETE FROM op_tiles WHERE run = ?1");
  if (!clear.ok()) return clear.status();
  PACI_RETURN_IF_ERROR(clear->Bind(1, run_id).Run());
  auto record = SqliteStmt::Prepare(db, "UPDATE runs SET tile_ns = ?2 WHERE id = ?1");
  if (!record.ok()) return record.status();
  if (span->op_count == 0) return record->Bind(1, run_id).BindNull(2).Run();

  const int64_t tiles = std::clamp<int64_t>(span->op_count / kOpsPerTile, 1, kMaxTilesPerSpan);
  const int64_t length = span->last_end - span->first_start + 1;
  const int64_t tile_ns = std::max<int64_t>(1, (length + tiles - 1) / tiles);
  std::unordered_map<uint64_t, OpTile> acc;
  acc.reserve(static_cast<size_t>(std::min<int64_t>(span->op_count, 1 << 20)));
  auto scan = SqliteStmt::Prepare(db, "SELECT stage, lane, start_ns, end_ns, op_id FROM ops WHERE run = ?1");
  if (!scan.ok()) return scan.status();
  scan->Bind(1, run_id);
  for (bool row = true;;) {
    PACI_RETURN_IF_ERROR(scan->Step(&row));
    if (!row) break;
    const auto stage = static_cast<uint32_t>(scan->Int(0));
    const int64_t lane = scan->Int(1), start = scan->Int(2), end = scan->Int(3);
    const auto id = static_cast<uint64_t>(scan->Int(4));
    // first_start is the minimum over these rows, so tile >= 0 (clamped against a stale span).
    const int64_t tile = std::clamp<int64_t>((start - span->first_start) / tile_ns, 0, tiles - 1);
    auto [it, fresh] = acc.try_emplace(TileKey(stage, lane, tile));
    OpTile& t = it->second;
    if (fresh) {
      t = OpTile{stage, static_cast<int32_t>(lane), tile, 0, 0, id, id, end};
    }
    t.busy_ns += end - start;
    ++t.ops;
    t.min_op_id = std::min(t.min_op_id, id);
    t.max_op_id = std::max(t.max_op_id, id);
    t.max_end_ns = std::max(t.max_end_ns, end);
  }
  std::vector<uint64_t> keys;
  keys.reserve(acc.size());
  for (const auto& kv : acc) keys.push_back(kv.first);
  std::sort(keys.begin(), keys.end());  // inserted in primary-key order
  auto insert = SqliteStmt::Prepare(db, "INSERT INTO op_tiles VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)");
  if (!insert.ok()) return insert.status();
  for (uint64_t k : keys) {
    const OpTile& t = acc[k];
    insert->Bind(1, run_id).Bind(2, t.stage).Bind(3, t.lane).Bind(4, t.tile).Bind(5, t.busy_ns)
        .Bind(6, t.ops).Bind(7, static_cast<int64_t>(t.min_op_id))
        .Bind(8, static_cast<int64_t>(t.max_op_id)).Bind(9, t.max_end_ns);
    PACI_RETURN_IF_ERROR(insert->Run());
  }
  return record->Bind(1, run_id).Bind(2, tile_ns).Run();
}

Result<std::optional<OpTileSummary>> ReadOpTiles(const SqliteDb& db, int64_t run_id) {
  auto span = ReadRunSpan(db, run_id);
  if (!span.ok()) return span.status();
  if (!span->tile_ns) return std::optional<OpTileSummary>();
  OpTileSummary s;
  s.first_start_ns = span->first_start;
  s.last_end_ns = span->last_end;
  s.tile_ns = *span->tile_ns;
  s.op_count = span->op_count;
  auto stmt = SqliteStmt::Prepare(db,
      "SELECT stage, lane, tile, busy_ns, ops, min_op, max_op, max_end_ns FROM op_tiles "
      "WHERE run = ?1 ORDER BY stage, lane, tile");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, run_id);
  for (bool row = true;;) {
    PACI_RETURN_IF_ERROR(stmt->Step(&row));
    if (!row) break;
    s.tiles.push_back(OpTile{static_cast<uint32_t>(stmt->Int(0)), static_cast<int32_t>(stmt->Int(1)),
                             stmt->Int(2), stmt->Int(3), stmt->Int(4),
                             static_cast<uint64_t>(stmt->Int(5)), static_cast<uint64_t>(stmt->Int(6)),
                             stmt->Int(7)});
  }
  return std::optional<OpTileSummary>(std::move(s));
}

Result<OpWindow> ReadOpWindow(const SqliteDb& db, int64_t run_id, int64_t start_ns, int64_t end_ns,
                              int64_t max_ops) {
  auto span = ReadRunSpan(db, run_id);
  if (!span.ok()) return span.status();
  OpWindow w;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  if (!span->tile_ns) {
    ranges.emplace_back(0, static_cast<uint64_t>(INT64_MAX));  // no summary: the whole run
  } else if (end_ns > span->first_start && start_ns < end_ns) {
    // An op meeting the window starts before end_ns (a tile at or before end_ns's) and ends
    // after start_ns (its tile's latest end does too).
    auto tiles = SqliteStmt::Prepare(db,
        "SELECT min_op, max_op FROM op_tiles WHERE run = ?1 AND tile <= ?2 AND max_end_ns > ?3");
    if (!tiles.ok()) return tiles.status();
    tiles->Bind(1, run_id).Bind(2, (end_ns - 1 - span->first_start) / *span->tile_ns).Bind(3, start_ns);
    for (bool row = true;;) {
      PACI_RETURN_IF_ERROR(tiles->Step(&row));
      if (!row) break;
      ranges.emplace_back(static_cast<uint64_t>(tiles->Int(0)), static_cast<uint64_t>(tiles->Int(1)));
    }
  }
  auto stmt = SqliteStmt::Prepare(db, fmt::format(
      "SELECT {} FROM ops WHERE run = ?1 AND op_id BETWEEN ?2 AND ?3 AND start_ns < ?5 AND end_ns > ?4 "
      "ORDER BY op_id", kOpColumns));
  if (!stmt.ok()) return stmt.status();
  for (const auto& [lo, hi] : MergeRanges(std::move(ranges))) {
    stmt->Reset();
    stmt->Bind(1, run_id).Bind(2, static_cast<int64_t>(lo)).Bind(3, static_cast<int64_t>(hi))
        .Bind(4, start_ns).Bind(5, end_ns);
    w.ids_read += span->tile_ns ? static_cast<int64_t>(hi - lo + 1) : span->op_count;
    for (bool row = true;;) {
      PACI_RETURN_IF_ERROR(stmt->Step(&row));
      if (!row) break;
      if (static_cast<int64_t>(w.ops.size()) >= max_ops) {
        w.ops.clear();
        w.truncated = true;
        return w;
      }
      w.ops.push_back(ReadOpRow(*stmt));
    }
  }
  return w;
}

}  // namespace paci::store
