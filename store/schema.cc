#include "store/schema.h"

#include <array>
#include <cstring>
#include <fstream>
#include <string_view>

#include <fmt/format.h>

namespace paci::store {
namespace {

// Migration i takes the schema from version i to i+1. Never edit a shipped entry: add one.
constexpr std::array<std::string_view, kSchemaVersion> kMigrations = {
    // 0 -> 1: runs, their ops, optimizer updates, memory samples, prediction links.
    R"sql(
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
)sql",
    // 1 -> 2: named scalar results of a run (makespan, throughput, ...).
    R"sql(
CREATE TABLE metrics(
  run   INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  key   TEXT NOT NULL,
  value REAL,
  PRIMARY KEY (run, key)
) WITHOUT ROWID;
)sql",
};

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
    return Status::InvalidArgument(fmt::format("{}: not a paci trace store ({})", db.path(),
                                               sqlite3_errmsg(db.get())));
  }
  auto version = PragmaInt(db, "user_version");
  auto tables = CountTables(db);
  if (!version.ok()) return version.status();
  if (!tables.ok()) return tables.status();
  if (*app == 0 && *version == 0 && *tables == 0) return 0;
  if (*app != kApplicationId) {
    return Status::InvalidArgument(fmt::format(
        "{}: not a paci trace store (a SQLite database of something else, application_id {})",
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
        "{}: trace store schema version {} is newer than this paci supports ({}); use a newer paci",
        path, version, kSchemaVersion));
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
    Status st = db.Exec(kMigrations[i]);
    if (!st.ok()) {
      return Status::Internal(fmt::format("migration {} -> {} failed: {}", i, i + 1, st.message()));
    }
  }
  PACI_RETURN_IF_ERROR(db.Exec(fmt::format("PRAGMA user_version = {}", target)));
  return txn->Commit();
}

Status MigrateToCurrent(SqliteDb& db) { return MigrateTo(db, kSchemaVersion); }

}  // namespace paci::store
