#include "store/schema.h"

#include <fmt/format.h>

#include <array>
#include <cstring>
#include <fstream>
#include <string_view>
#include <vector>

#include "store/op_tiles.h"
#include "store/run_info.h"
#include "store/run_record_json.h"

namespace paci::store {
namespace {

Status BackfillRunConfig(SqliteDb& db);
Status BackfillOpSummary(SqliteDb& db);

// One step of the schema: SQL, then (optionally) C++ for what SQL cannot compute, such as values
// inside the serialized protos. Both run in the migration's transaction.
struct Migration {
  std::string_view sql;
  Status (*backfill)(SqliteDb&) = nullptr;
};

// Migration i takes the schema from version i to i+1. Never edit a shipped entry: add one.
const std::array<Migration, kSchemaVersion> kMigrations = {{
    // 0 -> 1: runs, their ops, optimizer updates, memory samples, prediction links.
    {R"sql(
CREATE TABLE runs(
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  kind          TEXT NOT NULL CHECK (kind IN ('predicted', 'measured')),
  name          TEXT NOT NULL DEFAULT '',
  schedule      BLOB,
  spec          BLOB,
  cost_model    BLOB,
  description   TEXT NOT NULL DEFAULT '',
  host          TEXT NOT NULL DEFAULT '',
  writer_pid    INTEGER NOT NULL DEFAULT 0,
  code_revision TEXT NOT NULL DEFAULT '',
  start_unix_ns INTEGER NOT NULL DEFAULT 0,
  end_unix_ns   INTEGER,
  status        TEXT NOT NULL CHECK (status IN ('running', 'complete', 'failed')),
  message       TEXT NOT NULL DEFAULT ''
);
CREATE TABLE ops(
  run            INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  op_id          INTEGER NOT NULL,
  stage          INTEGER NOT NULL,
  chunk          INTEGER NOT NULL,
  micro_batch    INTEGER NOT NULL,
  kind           INTEGER NOT NULL,
  lane           INTEGER NOT NULL,
  start_ns       INTEGER NOT NULL,
  end_ns         INTEGER NOT NULL,
  weight_version INTEGER NOT NULL,
  live_bytes     INTEGER NOT NULL,
  PRIMARY KEY (run, op_id)
) WITHOUT ROWID;
CREATE INDEX ops_by_time ON ops(run, stage, start_ns);
CREATE TABLE updates(
  run      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  idx      INTEGER NOT NULL,
  loss     REAL,
  val_loss REAL,
  lr       REAL,
  tokens   INTEGER NOT NULL,
  wall_ns  INTEGER NOT NULL,
  PRIMARY KEY (run, idx)
) WITHOUT ROWID;
CREATE TABLE memory(
  run        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  stage      INTEGER NOT NULL,
  time_ns    INTEGER NOT NULL,
  live_bytes INTEGER NOT NULL
);
CREATE INDEX memory_by_time ON memory(run, stage, time_ns);
CREATE TABLE links(
  predicted INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  measured  INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  PRIMARY KEY (predicted, measured)
) WITHOUT ROWID;
)sql"},
    // 1 -> 2: named scalar results of a run (makespan, throughput, ...).
    {R"sql(
CREATE TABLE metrics(
  run   INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  key   TEXT NOT NULL,
  value REAL,
  PRIMARY KEY (run, key)
) WITHOUT ROWID;
)sql"},
    // 2 -> 3: predicted runs stored by what determines them (ops re-simulated on demand), the
    // run's configuration as columns, and no time index on ops.
    {R"sql(
ALTER TABLE runs ADD COLUMN op_storage TEXT NOT NULL DEFAULT 'stored'
  CHECK (op_storage IN ('stored', 'replayed'));
ALTER TABLE runs ADD COLUMN replay_ops INTEGER;
ALTER TABLE runs ADD COLUMN replay_digest INTEGER;
ALTER TABLE runs ADD COLUMN schedule_name TEXT;
ALTER TABLE runs ADD COLUMN stages INTEGER;
ALTER TABLE runs ADD COLUMN accum INTEGER;
ALTER TABLE runs ADD COLUMN microbatch_size INTEGER;
ALTER TABLE runs ADD COLUMN tokens_per_update INTEGER;
ALTER TABLE runs ADD COLUMN lr REAL;
ALTER TABLE runs ADD COLUMN seed INTEGER;
ALTER TABLE runs ADD COLUMN precision TEXT;
ALTER TABLE runs ADD COLUMN device TEXT;
-- Maintained on every op insert but read only by LoadOps, which the primary key's range of one
-- run serves as well at the sizes measured runs have: writes are 1.6x faster without it.
DROP INDEX ops_by_time;
)sql",
     BackfillRunConfig},
    // 3 -> 4: each run's op count and time span kept on its row (a run list never counts op
    // rows), and the level-of-detail summary of runs stored op by op (op_tiles.h).
    {R"sql(
ALTER TABLE runs ADD COLUMN op_count INTEGER;
ALTER TABLE runs ADD COLUMN first_start_ns INTEGER;
ALTER TABLE runs ADD COLUMN last_end_ns INTEGER;
ALTER TABLE runs ADD COLUMN tile_ns INTEGER;
CREATE TABLE op_tiles(
  run        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  stage      INTEGER NOT NULL,
  lane       INTEGER NOT NULL,
  tile       INTEGER NOT NULL,
  busy_ns    INTEGER NOT NULL,
  ops        INTEGER NOT NULL,
  min_op     INTEGER NOT NULL,
  max_op     INTEGER NOT NULL,
  max_end_ns INTEGER NOT NULL,
  PRIMARY KEY (run, stage, lane, tile)
) WITHOUT ROWID;
UPDATE runs SET op_count = replay_ops WHERE op_storage = 'replayed';
UPDATE runs SET op_count = (SELECT count(*) FROM ops WHERE run = runs.id),
                first_start_ns = (SELECT min(start_ns) FROM ops WHERE run = runs.id),
                last_end_ns = (SELECT max(end_ns) FROM ops WHERE run = runs.id)
  WHERE op_storage = 'stored';
)sql",
     BackfillOpSummary},
}};

Result<int64_t> PragmaInt(const SqliteDb& db, std::string_view pragma) {
  auto stmt = SqliteStmt::Prepare(db, fmt::format("PRAGMA {}", pragma));
  if (!stmt.ok()) return stmt.status();
  bool row = false;
  PACI_RETURN_IF_ERROR(stmt->Step(&row));
  return row ? stmt->Int(0) : 0;
}

Result<int64_t> CountTables(const SqliteDb& db) {
  auto stmt = SqliteStmt::Prepare(db, "SELECT count(*) FROM sqlite_master");
  if (!stmt.ok()) return stmt.status();
  bool row = false;
  PACI_RETURN_IF_ERROR(stmt->Step(&row));
  return stmt->Int(0);
}

// Classifies an open connection: fresh (0), a paci store at some version (>0), or an error.
Result<int> Classify(const SqliteDb& db) {
  auto app = PragmaInt(db, "application_id");
  if (!app.ok()) {
    // Only "not a database" means a foreign file; a lock or I/O error is reported as it is.
    if (app.status().code() != Status::Code::kCorruption) return app.status();
    return Status::InvalidArgument(
        fmt::format("{}: not a paci trace store ({})", db.path(), sqlite3_errmsg(db.get())));
  }
  auto version = PragmaInt(db, "user_version");
  auto tables = CountTables(db);
  if (!version.ok()) return version.status();
  if (!tables.ok()) return tables.status();
  if (*app == 0 && *version == 0 && *tables == 0) return 0;
  if (*app != kApplicationId) {
    return Status::InvalidArgument(
        fmt::format("{}: not a paci trace store (a SQLite database of something else, application_id {})",
                    db.path(), *app));
  }
  if (*version > kSchemaVersion) {
    return Status::FailedPrecondition(fmt::format(
        "{}: trace store schema version {} is newer than this paci supports ({}); use a newer paci",
        db.path(), *version, kSchemaVersion));
  }
  if (*version < 1) {
    return Status::Corruption(fmt::format("{}: paci trace store without a schema version", db.path()));
  }
  return static_cast<int>(*version);
}

// Version 3's configuration columns for runs stored before them: from the spec and cost model
// (schedule, P, K, simulator seed) and, for runs `paci train` wrote, its run record.
Status BackfillRunConfig(SqliteDb& db) {
  auto select = SqliteStmt::Prepare(db, "SELECT id, kind, spec, cost_model, description FROM runs");
  auto update = SqliteStmt::Prepare(
      db,
      "UPDATE runs SET schedule_name = ?2, stages = ?3, accum = ?4, microbatch_size = ?5, "
      "tokens_per_update = ?6, lr = ?7, seed = ?8, precision = ?9, device = ?10 WHERE id = ?1");
  if (!select.ok()) return select.status();
  if (!update.ok()) return update.status();
  for (bool row = true;;) {
    PACI_RETURN_IF_ERROR(select->Step(&row));
    if (!row) return Status::Ok();
    ir::PipelineSpec spec;
    std::optional<ir::CostModel> cost;
    if (!select->IsNull(2) && !spec.ParseFromString(select->Blob(2))) continue;  // left unknown
    if (!select->IsNull(3) && !cost.emplace().ParseFromString(select->Blob(3))) cost.reset();
    RunConfig c;
    const RunKind kind = ParseRunKind(select->Text(1)).value_or(RunKind::kMeasured);
    FillConfigFromRun(kind, spec, cost, &c);
    if (std::optional<ir::RunSetup> setup = RunSetupFromDescription(select->Text(4)))
      FillConfigFromSetup(*setup, &c);
    update->Bind(1, select->Int(0));
    BindConfig(*update, 2, c);
    PACI_RETURN_IF_ERROR(update->Run());
  }
}

// Version 4's summary for every finished run stored op by op (a running run gets its own when its
// writer finishes).
Status BackfillOpSummary(SqliteDb& db) {
  auto select = SqliteStmt::Prepare(
      db, "SELECT id FROM runs WHERE op_storage = 'stored' AND status != 'running' AND op_count > 0");
  if (!select.ok()) return select.status();
  std::vector<int64_t> ids;
  for (bool row = true;;) {
    PACI_RETURN_IF_ERROR(select->Step(&row));
    if (!row) break;
    ids.push_back(select->Int(0));
  }
  for (int64_t id : ids) PACI_RETURN_IF_ERROR(WriteOpTiles(db, id));
  return Status::Ok();
}

uint32_t BigEndian32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// The 100-byte SQLite header (sqlite.org/fileformat.html): bytes 18-19 are 2 in WAL mode, 60 is
// user_version, 68 application_id, both big-endian. Other files pass on to SQLite.
Status InspectWalHeader(const std::string& path) {
  unsigned char h[100];
  std::ifstream in(path, std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(h), sizeof(h))) return Status::Ok();
  if (std::memcmp(h, "SQLite format 3", 16) != 0 || h[18] != 2 || h[19] != 2) return Status::Ok();
  const int32_t app = static_cast<int32_t>(BigEndian32(h + 68));
  const int32_t version = static_cast<int32_t>(BigEndian32(h + 60));
  if (app != kApplicationId)
    return Status::InvalidArgument(fmt::format(
        "{}: not a paci trace store (a SQLite database of something else, application_id {})", path, app));
  if (version > kSchemaVersion)
    return Status::FailedPrecondition(fmt::format(
        "{}: trace store schema version {} is newer than this paci supports ({}); use a newer paci", path,
        version, kSchemaVersion));
  return Status::Ok();
}

}  // namespace

Status InspectStoreFile(const std::string& path, int busy_timeout_ms, int* version) {
  // Reading a WAL-mode database creates its -wal and -shm files. Refuse foreign and newer WAL
  // databases from their header alone, so a refused file gains no neighbours.
  PACI_RETURN_IF_ERROR(InspectWalHeader(path));
  auto db = SqliteDb::Open(path, SQLITE_OPEN_READONLY);
  if (!db.ok()) return db.status();
  // A writer may be checkpointing or recovering the WAL; wait for it as any reader would.
  sqlite3_busy_timeout(db->get(), busy_timeout_ms);
  auto v = Classify(*db);
  if (!v.ok()) return v.status();
  if (*v == 0) {
    // An empty SQLite database is still someone else's file; only absent or 0-byte files are ours.
    return Status::InvalidArgument(
        fmt::format("{}: not a paci trace store (an empty SQLite database)", path));
  }
  *version = *v;
  return Status::Ok();
}

Status MigrateTo(SqliteDb& db, int target) {
  auto txn = SqliteTxn::Begin(db);
  if (!txn.ok()) return txn.status();
  auto v = Classify(db);
  if (!v.ok()) return v.status();
  if (*v >= target) return Status::Ok();
  if (*v == 0) PACI_RETURN_IF_ERROR(db.Exec(fmt::format("PRAGMA application_id = {}", kApplicationId)));
  for (int i = *v; i < target; ++i) {
    Status st = db.Exec(kMigrations[i].sql);
    if (st.ok() && kMigrations[i].backfill) st = kMigrations[i].backfill(db);
    if (!st.ok()) {
      return Status::Internal(fmt::format("migration {} -> {} failed: {}", i, i + 1, st.message()));
    }
  }
  PACI_RETURN_IF_ERROR(db.Exec(fmt::format("PRAGMA user_version = {}", target)));
  return txn->Commit();
}

Status MigrateToCurrent(SqliteDb& db) { return MigrateTo(db, kSchemaVersion); }

void BindConfig(SqliteStmt& stmt, int first, const RunConfig& c) {
  auto text = [&](int i, const std::string& v) {
    if (v.empty())
      stmt.BindNull(first + i);
    else
      stmt.BindText(first + i, v);
  };
  auto integer = [&](int i, const std::optional<int64_t>& v) {
    if (v)
      stmt.Bind(first + i, *v);
    else
      stmt.BindNull(first + i);
  };
  text(0, c.schedule);
  integer(1, c.stages);
  integer(2, c.accum);
  integer(3, c.microbatch_size);
  integer(4, c.tokens_per_update);
  if (c.lr)
    stmt.BindDouble(first + 5, *c.lr);
  else
    stmt.BindNull(first + 5);
  integer(6, c.seed);
  text(7, c.precision);
  text(8, c.device);
}

RunConfig ReadConfig(const SqliteStmt& stmt, int first) {
  auto integer = [&](int i) -> std::optional<int64_t> {
    if (stmt.IsNull(first + i)) return std::nullopt;
    return stmt.Int(first + i);
  };
  RunConfig c;
  c.schedule = stmt.Text(first);
  c.stages = integer(1);
  c.accum = integer(2);
  c.microbatch_size = integer(3);
  c.tokens_per_update = integer(4);
  if (!stmt.IsNull(first + 5)) c.lr = stmt.Double(first + 5);
  c.seed = integer(6);
  c.precision = stmt.Text(first + 7);
  c.device = stmt.Text(first + 8);
  return c;
}

}  // namespace paci::store
