#include "store/store_merge.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <optional>
#include <set>

#include "store/migrated_copy.h"
#include "store/schema.h"
#include "store/sqlite_db.h"
#include "store/trace_store.h"

namespace paci::store {
namespace {

// A source as the merge reads it: the file (or its migrated copy) through a read-only connection.
struct Source {
  std::string path;
  std::shared_ptr<const MigratedCopy> copy;  // set for an older schema; outlives db
  std::unique_ptr<SqliteDb> db;
  std::vector<RunRecord> runs;
};

std::optional<struct stat> StatOf(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return std::nullopt;
  return st;
}

bool SameFile(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

Status QuickCheck(const SqliteDb& db) {
  auto stmt = SqliteStmt::Prepare(db, "PRAGMA quick_check(1)");
  if (!stmt.ok()) return Status::Corruption(stmt.status().message());
  bool row = false;
  if (Status step = stmt->Step(&row); !step.ok()) return Status::Corruption(step.message());
  if (row && stmt->Text(0) == "ok") return Status::Ok();
  return Status::Corruption(
      fmt::format("{}: the file is damaged ({})", db.path(), row ? stmt->Text(0) : std::string("no answer")));
}

// Opens a source for reading without writing it: an older schema is read through a migrated copy.
Result<Source> OpenSource(const std::string& path, int busy_timeout_ms) {
  const std::optional<struct stat> st = StatOf(path);
  if (!st) return Status::InvalidArgument(fmt::format("{}: no such trace store", path));
  if (st->st_size == 0)
    return Status::InvalidArgument(fmt::format("{}: an empty file, not a paci trace store", path));
  int version = 0;
  PACI_RETURN_IF_ERROR(InspectStoreFile(path, busy_timeout_ms, &version));
  Source s;
  s.path = path;
  if (version < kSchemaVersion) {
    auto copy = MigratedCopy::Make(path, busy_timeout_ms);
    if (!copy.ok()) return copy.status();
    s.copy = *copy;
  }
  const std::string readable = s.copy ? s.copy->path() : path;
  auto db = SqliteDb::Open(readable, SQLITE_OPEN_READONLY);
  if (!db.ok()) return db.status();
  s.db = std::make_unique<SqliteDb>(std::move(*db));
  sqlite3_busy_timeout(s.db->get(), busy_timeout_ms);
  if (Status q = QuickCheck(*s.db); !q.ok())
    return Status::Corruption(fmt::format("{}: {}", path, q.message()));
  OpenOptions read;
  read.create_if_missing = false;
  read.read_only = true;
  read.busy_timeout_ms = busy_timeout_ms;
  auto store = TraceStore::Open(readable, read);
  if (!store.ok()) return store.status();
  auto runs = store->ListRuns();
  if (!runs.ok()) return Status::Corruption(fmt::format("{}: {}", path, runs.status().message()));
  s.runs = std::move(*runs);
  return s;
}

// Copies the rows of `table` whose `column` is `from` into the target, with `to` in that column.
// Columns are taken from the source (both are at kSchemaVersion), values copied as stored.
Status CopyRows(const SqliteDb& src, SqliteDb& dst, std::string_view table, std::string_view column,
                int64_t from, int64_t to) {
  auto select = SqliteStmt::Prepare(src, fmt::format("SELECT * FROM {} WHERE {} = ?1", table, column));
  if (!select.ok()) return select.status();
  select->Bind(1, from);
  std::optional<SqliteStmt> insert;
  int run_col = -1;
  for (bool row = true;;) {
    PACI_RETURN_IF_ERROR(select->Step(&row));
    if (!row) return Status::Ok();
    if (!insert) {
      std::string names, params;
      for (int c = 0; c < select->ColumnCount(); ++c) {
        if (select->ColumnName(c) == column) run_col = c;
        names += fmt::format("{}{}", c ? ", " : "", select->ColumnName(c));
        params += fmt::format("{}?{}", c ? ", " : "", c + 1);
      }
      auto stmt =
          SqliteStmt::Prepare(dst, fmt::format("INSERT INTO {} ({}) VALUES ({})", table, names, params));
      if (!stmt.ok()) return stmt.status();
      insert.emplace(std::move(*stmt));
    }
    for (int c = 0; c < select->ColumnCount(); ++c) {
      if (c == run_col)
        insert->Bind(c + 1, to);
      else
        insert->BindColumn(c + 1, *select, c);
    }
    PACI_RETURN_IF_ERROR(insert->Run());
  }
}

// Copies run `id`'s row under a new id and returns it. Without ops, a run stored op by op keeps
// no op count, span or tiles: it reads as a run without ops.
Result<int64_t> CopyRunRow(const SqliteDb& src, SqliteDb& dst, int64_t id, bool without_ops) {
  auto select = SqliteStmt::Prepare(src, "SELECT * FROM runs WHERE id = ?1");
  if (!select.ok()) return select.status();
  select->Bind(1, id);
  bool row = false;
  PACI_RETURN_IF_ERROR(select->Step(&row));
  if (!row) return Status::Corruption(fmt::format("{}: run {} vanished while merging", src.path(), id));
  std::string names, params;
  std::vector<int> cols;
  bool stored = true;
  for (int c = 0; c < select->ColumnCount(); ++c) {
    const std::string name = select->ColumnName(c);
    if (name == "op_storage") stored = select->Text(c) == "stored";
    if (name == "id") continue;
    names += fmt::format("{}{}", cols.empty() ? "" : ", ", name);
    params += fmt::format("{}?{}", cols.empty() ? "" : ", ", cols.size() + 1);
    cols.push_back(c);
  }
  auto insert = SqliteStmt::Prepare(dst, fmt::format("INSERT INTO runs ({}) VALUES ({})", names, params));
  if (!insert.ok()) return insert.status();
  static const std::set<std::string> kOpSummary = {"first_start_ns", "last_end_ns", "tile_ns"};
  for (size_t i = 0; i < cols.size(); ++i) {
    const int p = static_cast<int>(i) + 1;
    const std::string name = select->ColumnName(cols[i]);
    if (without_ops && stored && name == "op_count")
      insert->Bind(p, 0);
    else if (without_ops && stored && kOpSummary.count(name))
      insert->BindNull(p);
    else
      insert->BindColumn(p, *select, cols[i]);
  }
  PACI_RETURN_IF_ERROR(insert->Run());
  return dst.LastInsertId();
}

// Copies one run with everything that hangs off it; returns its id in the target.
Result<int64_t> CopyRun(const SqliteDb& src, SqliteDb& dst, int64_t id, bool without_ops) {
  auto to = CopyRunRow(src, dst, id, without_ops);
  if (!to.ok()) return to.status();
  std::vector<std::string_view> tables = {"updates", "metrics", "memory"};
  if (!without_ops) tables.insert(tables.end(), {"ops", "op_tiles"});
  for (std::string_view t : tables) PACI_RETURN_IF_ERROR(CopyRows(src, dst, t, "run", id, *to));
  return *to;
}

// The links of a source between two runs it copied, remapped; the others are counted as dropped.
Status CopyLinks(const SqliteDb& src, SqliteDb& dst, const std::map<int64_t, int64_t>& ids,
                 SourceMerge* out) {
  auto select =
      SqliteStmt::Prepare(src, "SELECT predicted, measured FROM links ORDER BY predicted, measured");
  auto insert = SqliteStmt::Prepare(dst, "INSERT INTO links (predicted, measured) VALUES (?1, ?2)");
  if (!select.ok()) return select.status();
  if (!insert.ok()) return insert.status();
  for (bool row = true;;) {
    PACI_RETURN_IF_ERROR(select->Step(&row));
    if (!row) return Status::Ok();
    auto p = ids.find(select->Int(0)), m = ids.find(select->Int(1));
    if (p == ids.end() || m == ids.end()) {
      ++out->links_dropped;
      continue;
    }
    insert->Bind(1, p->second).Bind(2, m->second);
    PACI_RETURN_IF_ERROR(insert->Run());
    ++out->links;
  }
}

// Where each key is held: "run 7 of ALL.db".
using KeyOwners = std::map<std::string, std::string>;

Result<KeyOwners> TargetKeys(const std::string& target, const MergeOptions& options) {
  KeyOwners owners;
  if (!options.key) return owners;
  OpenOptions read;
  read.create_if_missing = false;
  read.read_only = true;
  read.busy_timeout_ms = options.busy_timeout_ms;
  auto store = TraceStore::Open(target, read);
  if (!store.ok()) return store.status();
  auto runs = store->ListRuns();
  if (!runs.ok()) return runs.status();
  for (const RunRecord& r : *runs)
    if (r.status == RunStatus::kComplete)
      if (std::optional<std::string> k = options.key(r))
        owners.emplace(*k, fmt::format("run {} of {} ('{}')", r.id, target, r.info.name));
  return owners;
}

// Copies one source's complete runs and their links inside the caller's transaction.
Status MergeSource(const Source& src, SqliteDb& dst, const MergeOptions& options, KeyOwners* owners,
                   SourceMerge* out) {
  out->path = src.path;
  std::map<int64_t, int64_t> ids;
  for (const RunRecord& r : src.runs) {
    if (r.status != RunStatus::kComplete) {
      out->skipped.push_back({r.id, RunStatusName(r.status)});
      continue;
    }
    const std::optional<std::string> key = options.key ? options.key(r) : std::nullopt;
    if (key) {
      if (auto held = owners->find(*key); held != owners->end()) {
        if (!options.skip_duplicates)
          return Status::InvalidArgument(
              fmt::format("{}: run {} ('{}') is the same study point and seed as {}; nothing was merged "
                          "(--skip-duplicates keeps the run already there)",
                          src.path, r.id, r.info.name, held->second));
        out->skipped.push_back({r.id, "duplicate of " + held->second});
        continue;
      }
    }
    auto to = CopyRun(*src.db, dst, r.id, options.without_ops);
    if (!to.ok())
      return Status::IoError(fmt::format("{}: run {}: {}", src.path, r.id, to.status().message()));
    ids[r.id] = *to;
    out->copied.emplace_back(r.id, *to);
    if (key) owners->emplace(*key, fmt::format("run {} of {} ('{}')", r.id, src.path, r.info.name));
  }
  return CopyLinks(*src.db, dst, ids, out);
}

// Opens (creating when absent) and migrates the target, then merges every source in one transaction.
Status MergeInto(const std::vector<Source>& sources, const std::string& target, bool existed,
                 const MergeOptions& options, MergeResult* result) {
  auto db = SqliteDb::Open(target, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (!db.ok()) return db.status();
  sqlite3_busy_timeout(db->get(), options.busy_timeout_ms);
  if (existed) PACI_RETURN_IF_ERROR(QuickCheck(*db));
  PACI_RETURN_IF_ERROR(MigrateToCurrent(*db));
  auto owners = TargetKeys(target, options);
  if (!owners.ok()) return owners.status();
  {
    auto txn = SqliteTxn::Begin(*db);
    if (!txn.ok()) return txn.status();
    for (const Source& s : sources)
      PACI_RETURN_IF_ERROR(MergeSource(s, *db, options, &*owners, &result->sources.emplace_back()));
    PACI_RETURN_IF_ERROR(txn->Commit());
  }
  // A new store copied without ops is what gets committed to a repository: make it compact.
  if (options.without_ops && !existed) PACI_RETURN_IF_ERROR(db->Exec("VACUUM"));
  return Status::Ok();
}

// Puts a target the merge created (or found empty) back as it was.
void Restore(const std::string& target, const std::optional<struct stat>& before) {
  if (!before) {
    for (const char* suffix : {"", "-journal", "-wal", "-shm"}) unlink((target + suffix).c_str());
  } else if (before->st_size == 0) {
    if (truncate(target.c_str(), 0) != 0) return;  // best effort: the error already says what failed
  }
}

}  // namespace

Result<MergeResult> MergeStores(const std::vector<std::string>& sources, const std::string& target,
                                const MergeOptions& options) {
  if (sources.empty()) return Status::InvalidArgument("no source store to merge");
  const std::optional<struct stat> before = StatOf(target);
  // Look at the target before anything is read or written: a foreign or newer file is refused.
  if (before && before->st_size > 0) {
    int version = 0;
    PACI_RETURN_IF_ERROR(InspectStoreFile(target, options.busy_timeout_ms, &version));
  }
  std::vector<Source> opened;
  std::vector<struct stat> seen;
  for (const std::string& path : sources) {
    auto s = OpenSource(path, options.busy_timeout_ms);
    if (!s.ok()) return s.status();
    const std::optional<struct stat> st = StatOf(path);
    if (st && before && SameFile(*st, *before))
      return Status::InvalidArgument(fmt::format("{}: is the target itself (--db)", path));
    for (const struct stat& o : seen)
      if (st && SameFile(*st, o)) return Status::InvalidArgument(fmt::format("{}: given twice", path));
    if (st) seen.push_back(*st);
    opened.push_back(std::move(*s));
  }
  MergeResult result;
  result.target_created = !before;
  Status st = MergeInto(opened, target, before && before->st_size > 0, options, &result);
  if (!st.ok()) {
    Restore(target, before);
    return st;
  }
  return result;
}

}  // namespace paci::store
