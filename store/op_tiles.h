// The level-of-detail summary of a run stored op by op (table op_tiles): per stage, lane and
// time tile, the busy time, op count, op-id range and latest end of the ops that start in it.
// A viewer draws a 10 M-row run's far-out zoom from a few hundred thousand tiles, and the op-id
// ranges of the tiles that meet a time window turn "ops in [t0, t1)" into primary-key range reads.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "paci.pb.h"
#include "proto/status.h"

namespace paci::store {

class SqliteDb;  // store-internal (sqlite_db.h)
class SqliteStmt;

// Tiles across a run's time span: op_count / kOpsPerTile, at least 1 and at most
// kMaxTilesPerSpan, so a lane of a 9 M-op run has ~46 ops per tile and a small run a few.
inline constexpr int64_t kOpsPerTile = 64;
inline constexpr int64_t kMaxTilesPerSpan = 8192;

struct OpTile {
  uint32_t stage = 0;
  int32_t lane = 0;          // ir::Lane
  int64_t tile = 0;          // covers starts in [first_start + tile * tile_ns, + tile_ns)
  int64_t busy_ns = 0;       // sum of end - start of its ops (an op counts whole in its start tile)
  int64_t ops = 0;
  uint64_t min_op_id = 0;
  uint64_t max_op_id = 0;
  int64_t max_end_ns = 0;    // latest end of its ops (run clock)
};

struct OpTileSummary {
  int64_t first_start_ns = 0;  // run clock: earliest op start, the tiles' origin
  int64_t last_end_ns = 0;     // latest op end
  int64_t tile_ns = 1;
  int64_t op_count = 0;
  std::vector<OpTile> tiles;   // by stage, lane, tile; tiles without ops are absent
};

// The ops of a time window, all stages (TraceStore::LoadOpWindow).
struct OpWindow {
  std::vector<ir::TraceEvent> ops;  // by op id
  bool truncated = false;           // more than the cap met the window; ops holds none of them
  int64_t ids_read = 0;             // op ids in the primary-key ranges read (a bound on rows visited)
};

// Internal (the store's own connections). The columns of an op row in the order ReadOpRow reads.
inline constexpr const char* kOpColumns =
    "op_id, stage, chunk, micro_batch, kind, lane, start_ns, end_ns, weight_version, live_bytes";
ir::TraceEvent ReadOpRow(const SqliteStmt& s);
// Recomputes the run's tiles from its op rows, one scan
// in primary-key order, and records tile_ns on the run; the caller holds a write transaction.
Status WriteOpTiles(SqliteDb& db, int64_t run_id);
// nullopt when the run has no summary (still running, written before schema 4 and not migrated,
// or kept for replay).
Result<std::optional<OpTileSummary>> ReadOpTiles(const SqliteDb& db, int64_t run_id);
// Ops with start < end_ns and end > start_ns (as TraceStore::LoadOps), over every stage; reads
// only the op-id ranges of the tiles that meet the window when the run has tiles, else scans
// the run. More than max_ops: truncated, no ops.
Result<OpWindow> ReadOpWindow(const SqliteDb& db, int64_t run_id, int64_t start_ns, int64_t end_ns,
                              int64_t max_ops);

}  // namespace paci::store
