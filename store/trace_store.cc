#include "store/trace_store.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <thread>

#include "store/migrated_copy.h"
#include "store/op_tiles.h"
#include "store/replay_sinks.h"
#include "store/run_record_json.h"
#include "store/schema.h"
#include "store/sqlite_db.h"
#include "store/trace_digest.h"

namespace paci::store {
namespace {

// Columns 0-16 as ReadRunRow reads them, then the configuration (kConfigColumns) from 17.
const std::string kRunColumns = fmt::format(
    "id, kind, name, schedule, spec, cost_model, description, host, writer_pid, code_revision, "
    "start_unix_ns, end_unix_ns, status, message, "
    "CASE op_storage WHEN 'replayed' THEN replay_ops ELSE coalesce(op_count, 0) END, op_storage, "
    "replay_digest, {}",
    kConfigColumns);
constexpr int kFirstConfigColumn = 17;

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "";
  return buf;
}

int64_t UnixNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// True while `pid` runs. A zombie (exited, not yet reaped: common when a container's init does not
// reap, or right after mpirun kills its ranks) counts as gone.
bool ProcessAlive(int64_t pid) {
  if (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;  // no procfs: trust kill()
  const size_t close = line.rfind(')');        // the state follows "pid (comm) "
  return !(close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z');
}

// A running run whose writer was on this host and is gone will never be finished.
RunState StateOf(const RunRecord& r) {
  switch (r.status) {
    case RunStatus::kComplete: return RunState::kComplete;
    case RunStatus::kFailed: return RunState::kFailed;
    case RunStatus::kRunning: break;
  }
  if (r.writer_pid <= 0) return RunState::kIncomplete;  // imported while it was still running
  if (r.info.host == HostName() && !ProcessAlive(r.writer_pid)) return RunState::kIncomplete;
  return RunState::kRunning;  // alive, or on another host where we cannot tell
}

template <typename Msg>
Status ParseBlob(const SqliteStmt& s, int col, std::optional<Msg>* out, int64_t id, const char* what) {
  if (s.IsNull(col)) return Status::Ok();
  Msg msg;
  if (!msg.ParseFromString(s.Blob(col))) {
    return Status::Corruption(fmt::format("run {}: stored {} does not parse", id, what));
  }
  *out = std::move(msg);
  return Status::Ok();
}

Result<RunRecord> ReadRunRow(const SqliteStmt& s) {
  RunRecord r;
  r.id = s.Int(0);
  auto kind = ParseRunKind(s.Text(1));
  auto status = ParseRunStatus(s.Text(12));
  if (!kind || !status) return Status::Corruption(fmt::format("run {}: bad kind or status", r.id));
  r.info.kind = *kind;
  r.info.name = s.Text(2);
  PACI_RETURN_IF_ERROR(ParseBlob(s, 3, &r.info.schedule, r.id, "schedule"));
  std::optional<ir::PipelineSpec> spec;
  PACI_RETURN_IF_ERROR(ParseBlob(s, 4, &spec, r.id, "spec"));
  if (spec) r.info.spec = *spec;
  PACI_RETURN_IF_ERROR(ParseBlob(s, 5, &r.info.cost_model, r.id, "cost model"));
  r.info.description = s.Text(6);
  r.info.setup = RunSetupFromDescription(r.info.description);
  r.info.host = s.Text(7);
  r.writer_pid = s.Int(8);
  r.info.code_revision = s.Text(9);
  r.start_unix_ns = s.Int(10);
  if (!s.IsNull(11)) r.end_unix_ns = s.Int(11);
  r.status = *status;
  r.message = s.Text(13);
  r.op_count = s.Int(14);
  auto storage = ParseOpStorage(s.Text(15));
  if (!storage) return Status::Corruption(fmt::format("run {}: bad op_storage", r.id));
  r.op_storage = *storage;
  r.ops_digest = static_cast<uint64_t>(s.Int(16));
  r.info.config = ReadConfig(s, kFirstConfigColumn);
  r.state = StateOf(r);
  return r;
}

Status SetPragmas(SqliteDb& db) {
  // Switching to WAL needs a moment alone with the file; retry while another opener holds it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    Status st = db.Exec("PRAGMA journal_mode = WAL");
    if (st.ok()) break;
    if (std::chrono::steady_clock::now() > deadline) return st;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // NORMAL in WAL mode keeps every commit across a process crash (SIGKILL); only power loss can
  // roll back the last commits.
  return db.Exec("PRAGMA synchronous = NORMAL");
}

// A writer's connection: SetPragmas, and a page cache large enough that a batch's inserts into
// the ops primary key (op ids arrive in time order, not key order) rarely go back to the file.
// The cache is allocated as pages are used; 64 MiB bounds it per writer.
Status SetWriterPragmas(SqliteDb& db) {
  PACI_RETURN_IF_ERROR(SetPragmas(db));
  return db.Exec("PRAGMA cache_size = -65536");
}

// PRAGMA quick_check: every page and record well-formed (no index cross-check); linear in the
// file's size.
Status QuickCheck(const SqliteDb& db) {
  auto stmt = SqliteStmt::Prepare(db, "PRAGMA quick_check(1)");
  if (!stmt.ok()) return Status::Corruption(stmt.status().message());
  bool row = false;
  if (Status step = stmt->Step(&row); !step.ok()) return Status::Corruption(step.message());
  const std::string verdict = row ? stmt->Text(0) : std::string("no answer");
  if (verdict == "ok") return Status::Ok();
  return Status::Corruption(
      fmt::format("{}: the file is damaged ({}); it is not written to. "
                  "Read what is left with `sqlite3 {} .recover`",
                  db.path(), verdict, db.path()));
}

}  // namespace

Result<TraceStore> TraceStore::Open(const std::string& path, OpenOptions options) {
  struct stat st {};
  const bool exists = stat(path.c_str(), &st) == 0;
  if (!exists && (!options.create_if_missing || options.read_only)) {
    return Status::NotFound(fmt::format("{}: no such trace store", path));
  }
  // An empty file is no store: a reader that may not create one must not write a schema into it
  // (issue 25: `study report` did, with exit 0) nor fail on its missing tables as an I/O error.
  if (exists && st.st_size == 0 && (!options.create_if_missing || options.read_only))
    return Status::InvalidArgument(fmt::format("{}: an empty file, not a paci trace store", path));
  // Look before touching: a foreign or newer file must stay byte-identical.
  std::shared_ptr<const MigratedCopy> copy_of_older;
  if (exists && st.st_size > 0) {
    int version = 0;
    PACI_RETURN_IF_ERROR(InspectStoreFile(path, options.busy_timeout_ms, &version));
    // Reading an older store must not rewrite it (a committed traces/*.db would change): read a
    // migrated private copy instead. Stores are small next to the runs that made them.
    if (options.read_only && version < kSchemaVersion) {
      auto copy = MigratedCopy::Make(path, options.busy_timeout_ms);
      if (!copy.ok()) return copy.status();
      copy_of_older = *copy;
    }
  }
  TraceStore store(path, options);
  store.copy_ = std::move(copy_of_older);
  auto db = store.Connect(options.read_only);
  if (!db.ok()) return db.status();
  store.db_ = std::move(*db);
  if (!options.read_only) {
    // A damaged file must not take new writes (they would succeed beside the damage).
    if (exists && st.st_size > 0) PACI_RETURN_IF_ERROR(QuickCheck(*store.db_));
    // Tables first, WAL second: a concurrent opener then sees either an empty file or a store.
    PACI_RETURN_IF_ERROR(MigrateToCurrent(*store.db_));
    PACI_RETURN_IF_ERROR(SetPragmas(*store.db_));
  }
  return store;
}

Result<TraceStore> TraceStore::Reopen() const {
  TraceStore other(path_, options_);
  other.copy_ = copy_;
  auto db = other.Connect(options_.read_only);
  if (!db.ok()) return db.status();
  other.db_ = std::move(*db);
  if (!options_.read_only) PACI_RETURN_IF_ERROR(SetPragmas(*other.db_));
  return other;
}

TraceStore::TraceStore(std::string path, OpenOptions options)
    : path_(std::move(path)), options_(std::move(options)) {}
TraceStore::TraceStore(TraceStore&&) noexcept = default;
TraceStore& TraceStore::operator=(TraceStore&&) noexcept = default;
TraceStore::~TraceStore() = default;

Result<std::unique_ptr<SqliteDb>> TraceStore::Connect(bool read_only) const {
  auto db = SqliteDb::Open(copy_ ? copy_->path() : path_,
                           read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (!db.ok()) return db.status();
  auto owned = std::make_unique<SqliteDb>(std::move(*db));
  sqlite3_busy_timeout(owned->get(), options_.busy_timeout_ms);
  return owned;
}

Result<RunWriter> TraceStore::BeginRun(const RunInfo& info, WriterOptions options) {
  if (options.replay_above_ops > 0 &&
      (info.kind != RunKind::kPredicted || !info.schedule || !info.cost_model)) {
    return Status::InvalidArgument(fmt::format(
        "{}: only a predicted run with its schedule and cost model can be stored for replay", path_));
  }
  auto db = Connect(false);
  if (!db.ok()) return db.status();
  PACI_RETURN_IF_ERROR(SetWriterPragmas(**db));
  auto stmt = SqliteStmt::Prepare(
      **db,
      fmt::format("INSERT INTO runs (kind, name, schedule, spec, cost_model, description, host, writer_pid, "
                  "code_revision, start_unix_ns, status, {}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,"
                  "'running',?11,?12,?13,?14,?15,?16,?17,?18,?19)",
                  kConfigColumns));
  if (!stmt.ok()) return stmt.status();
  const ir::PipelineSpec& spec = info.schedule ? info.schedule->spec() : info.spec;
  RunConfig config = info.config;
  FillConfigFromRun(info.kind, spec, info.cost_model, &config);
  BindConfig(*stmt, 11, config);
  stmt->BindText(1, RunKindName(info.kind)).BindText(2, info.name);
  if (info.schedule) stmt->BindBlob(3, info.schedule->SerializeAsString());
  stmt->BindBlob(4, spec.SerializeAsString());
  if (info.cost_model) stmt->BindBlob(5, info.cost_model->SerializeAsString());
  // A run copied from a store keeps its description's bytes; a new run's record becomes its description.
  stmt->BindText(
          6, info.description.empty() && info.setup ? RunSetupToDescription(*info.setup) : info.description)
      .BindText(7, info.host.empty() ? HostName() : info.host)
      .Bind(8, getpid())
      .BindText(9, info.code_revision)
      .Bind(10, UnixNowNs());
  PACI_RETURN_IF_ERROR(stmt->Run());
  const int64_t id = (*db)->LastInsertId();
  return RunWriter(std::move(*db), id, /*owns_run=*/true, options);
}

Result<RunWriter> TraceStore::AttachRun(int64_t run_id, WriterOptions options) {
  if (options.replay_above_ops > 0) {
    return Status::InvalidArgument(
        fmt::format("{}: run {}: only the writer that begins a run may keep it for replay", path_, run_id));
  }
  auto record = GetRun(run_id);
  if (!record.ok()) return record.status();
  auto db = Connect(false);
  if (!db.ok()) return db.status();
  PACI_RETURN_IF_ERROR(SetWriterPragmas(**db));
  return RunWriter(std::move(*db), run_id, /*owns_run=*/false, options);
}

Result<std::vector<RunRecord>> TraceStore::ListRuns() {
  auto stmt = SqliteStmt::Prepare(*db_, fmt::format("SELECT {} FROM runs ORDER BY id", kRunColumns));
  if (!stmt.ok()) return stmt.status();
  std::vector<RunRecord> runs;
  for (bool row = true;;) {
    PACI_RETURN_IF_ERROR(stmt->Step(&row));
    if (!row) break;
    auto r = ReadRunRow(*stmt);
    if (!r.ok()) return r.status();
    runs.push_back(std::move(*r));
  }
  return runs;
}

Result<RunRecord> TraceStore::GetRun(int64_t run_id) {
  auto stmt = SqliteStmt::Prepare(*db_, fmt::format("SELECT {} FROM runs WHERE id = ?1", kRunColumns));
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, run_id);
  bool row = false;
  PACI_RETURN_IF_ERROR(stmt->Step(&row));
  if (!row) return Status::NotFound(fmt::format("{}: no run {}", path_, run_id));
  return ReadRunRow(*stmt);
}

Status TraceStore::DeleteRun(int64_t run_id) { return DeleteRuns({run_id}); }

Status TraceStore::DeleteRuns(const std::vector<int64_t>& run_ids) {
  auto txn = SqliteTxn::Begin(*db_);
  if (!txn.ok()) return txn.status();
  // Inside the transaction, so no other writer can delete one of them between check and delete.
  for (int64_t id : run_ids) {
    auto record = GetRun(id);
    if (!record.ok()) return record.status();  // the transaction rolls back: nothing deleted
  }
  for (int64_t id : run_ids)
    for (const char* sql :
         {"DELETE FROM ops WHERE run = ?1", "DELETE FROM op_tiles WHERE run = ?1",
          "DELETE FROM updates WHERE run = ?1", "DELETE FROM memory WHERE run = ?1",
          "DELETE FROM metrics WHERE run = ?1", "DELETE FROM links WHERE predicted = ?1 OR measured = ?1",
          "DELETE FROM runs WHERE id = ?1"}) {
      auto stmt = SqliteStmt::Prepare(*db_, sql);
      if (!stmt.ok()) return stmt.status();
      PACI_RETURN_IF_ERROR(stmt->Bind(1, id).Run());
    }
  return txn->Commit();
}

Status TraceStore::FailRunningRun(int64_t run_id, const std::string& message) {
  auto stmt = SqliteStmt::Prepare(
      *db_, "UPDATE runs SET status = ?1, message = ?2, end_unix_ns = ?3 WHERE id = ?4 AND status = ?5");
  if (!stmt.ok()) return stmt.status();
  return stmt->BindText(1, RunStatusName(RunStatus::kFailed))
      .BindText(2, message)
      .Bind(3, UnixNowNs())
      .Bind(4, run_id)
      .BindText(5, RunStatusName(RunStatus::kRunning))
      .Run();
}

Status TraceStore::LinkPrediction(int64_t predicted, int64_t measured) {
  auto p = GetRun(predicted);
  if (!p.ok()) return p.status();
  auto m = GetRun(measured);
  if (!m.ok()) return m.status();
  if (p->info.kind != RunKind::kPredicted || m->info.kind != RunKind::kMeasured) {
    return Status::InvalidArgument(
        fmt::format("{}: link needs a predicted run then a measured one; run {} is {}, run {} is {}", path_,
                    predicted, RunKindName(p->info.kind), measured, RunKindName(m->info.kind)));
  }
  auto stmt = SqliteStmt::Prepare(*db_, "INSERT OR IGNORE INTO links VALUES (?1, ?2)");
  if (!stmt.ok()) return stmt.status();
  return stmt->Bind(1, predicted).Bind(2, measured).Run();
}

Result<std::vector<std::pair<int64_t, int64_t>>> TraceStore::LinksOf(int64_t run_id) {
  auto stmt =
      SqliteStmt::Prepare(*db_,
                          "SELECT predicted, measured FROM links WHERE predicted = ?1 OR measured = ?1 "
                          "ORDER BY predicted, measured");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, run_id);
  std::vector<std::pair<int64_t, int64_t>> links;
  for (bool row = true;;) {
    PACI_RETURN_IF_ERROR(stmt->Step(&row));
    if (!row) break;
    links.emplace_back(stmt->Int(0), stmt->Int(1));
  }
  return links;
}

Result<std::vector<std::pair<int64_t, int64_t>>> TraceStore::ListLinks() {
  auto stmt = SqliteStmt::Prepare(*db_, "SELECT predicted, measured FROM links ORDER BY predicted, measured");
  if (!stmt.ok()) return stmt.status();
  std::vector<std::pair<int64_t, int64_t>> links;
  for (bool row = true;;) {
    PACI_RETURN_IF_ERROR(stmt->Step(&row));
    if (!row) return links;
    links.emplace_back(stmt->Int(0), stmt->Int(1));
  }
}

Result<std::map<int64_t, std::map<std::string, double>>> TraceStore::ListMetrics(
    const std::vector<std::string>& keys) {
  std::map<int64_t, std::map<std::string, double>> out;
  if (keys.empty()) return out;
  std::string params;
  for (size_t i = 0; i < keys.size(); ++i) params += fmt::format("{}?{}", i ? "," : "", i + 1);
  auto stmt = SqliteStmt::Prepare(
      *db_,
      fmt::format("SELECT run, key, value FROM metrics WHERE key IN ({}) AND value IS NOT NULL", params));
  if (!stmt.ok()) return stmt.status();
  for (size_t i = 0; i < keys.size(); ++i) stmt->BindText(static_cast<int>(i + 1), keys[i]);
  for (bool row = true;;) {
    PACI_RETURN_IF_ERROR(stmt->Step(&row));
    if (!row) return out;
    out[stmt->Int(0)][stmt->Text(1)] = stmt->Double(2);
  }
}

Result<std::optional<int64_t>> TraceStore::StoredOpExtentNs(int64_t run_id) {
  // The span every batch of the run's writers kept up to date (schema 4), not a scan of its ops.
  auto stmt = SqliteStmt::Prepare(*db_,
                                  "SELECT coalesce(op_count, 0), last_end_ns - first_start_ns FROM runs "
                                  "WHERE id = ?1 AND op_storage = 'stored'");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, run_id);
  bool row = false;
  PACI_RETURN_IF_ERROR(stmt->Step(&row));
  if (!row || stmt->Int(0) == 0) return std::optional<int64_t>();
  return std::optional<int64_t>(stmt->Int(1));
}

namespace {

template <typename Fn>
Status ForEachRow(const SqliteDb& db, std::string_view sql, int64_t run_id, Fn&& fn) {
  auto stmt = SqliteStmt::Prepare(db, sql);
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, run_id);
  for (bool row = true;;) {
    PACI_RETURN_IF_ERROR(stmt->Step(&row));
    if (!row) return Status::Ok();
    fn(*stmt);
  }
}

}  // namespace

Result<RunData> TraceStore::LoadRunWithoutOps(int64_t run_id) {
  auto record = GetRun(run_id);
  if (!record.ok()) return record.status();
  RunData data;
  data.record = std::move(*record);
  PACI_RETURN_IF_ERROR(ForEachRow(
      *db_, "SELECT idx, loss, val_loss, lr, tokens, wall_ns FROM updates WHERE run = ?1 ORDER BY idx",
      run_id, [&](const SqliteStmt& s) {
        ir::UpdateMetric& m = data.updates.emplace_back();
        m.set_update(s.Int(0));
        m.set_loss(s.Double(1));
        m.set_val_loss(s.Double(2));
        m.set_learning_rate(s.Double(3));
        m.set_tokens(s.Int(4));
        m.set_wall_ns(s.Int(5));
      }));
  PACI_RETURN_IF_ERROR(ForEachRow(*db_, "SELECT key, value FROM metrics WHERE run = ?1", run_id,
                                  [&](const SqliteStmt& s) { data.metrics[s.Text(0)] = s.Double(1); }));
  return data;
}

Result<RunData> TraceStore::LoadRun(int64_t run_id) {
  auto loaded = LoadRunWithoutOps(run_id);
  if (!loaded.ok()) return loaded.status();
  RunData& data = *loaded;
  if (data.record.op_storage == OpStorage::kReplayed) {
    PACI_RETURN_IF_ERROR(Replay(data.record, &data));
    return loaded;
  }
  data.ops.reserve(data.record.op_count);
  PACI_RETURN_IF_ERROR(ForEachRow(*db_,
                                  fmt::format("SELECT {} FROM ops WHERE run = ?1 ORDER BY op_id", kOpColumns),
                                  run_id, [&](const SqliteStmt& s) { data.ops.push_back(ReadOpRow(s)); }));
  PACI_RETURN_IF_ERROR(ForEachRow(
      *db_, "SELECT stage, time_ns, live_bytes FROM memory WHERE run = ?1 ORDER BY stage, time_ns, rowid",
      run_id, [&](const SqliteStmt& s) {
        ir::MemorySample& m = data.memory.emplace_back();
        m.set_stage(s.Int(0));
        m.set_time_ns(s.Int(1));
        m.set_live_bytes(s.Int(2));
      }));
  // A hand-edited file must not send readers (metrics, viewer) out of bounds.
  if (Status st = CheckRunData(data, fmt::format("{}: run {}", path_, run_id)); !st.ok())
    return Status::Corruption(st.message());
  return loaded;
}

Result<std::vector<ir::TraceEvent>> TraceStore::LoadOps(int64_t run_id, uint32_t stage, int64_t start_ns,
                                                        int64_t end_ns) {
  auto record = GetRun(run_id);
  if (!record.ok()) return record.status();
  if (record->op_storage == OpStorage::kReplayed) {
    RunData data;
    PACI_RETURN_IF_ERROR(Replay(*record, &data));
    std::vector<ir::TraceEvent> ops;
    for (ir::TraceEvent& e : data.ops)
      if (e.stage() == stage && e.start_ns() < end_ns && e.end_ns() > start_ns) ops.push_back(std::move(e));
    std::stable_sort(ops.begin(), ops.end(), [](const ir::TraceEvent& a, const ir::TraceEvent& b) {
      return a.start_ns() < b.start_ns();  // ties stay in op id order, as the SQL sorts them
    });
    return ops;
  }
  auto stmt = SqliteStmt::Prepare(
      *db_,
      "SELECT op_id, stage, chunk, micro_batch, kind, lane, start_ns, end_ns, weight_version, "
      "live_bytes FROM ops WHERE run = ?1 AND stage = ?2 AND start_ns < ?4 AND end_ns > ?3 "
      "ORDER BY start_ns, op_id");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, run_id).Bind(2, stage).Bind(3, start_ns).Bind(4, end_ns);
  std::vector<ir::TraceEvent> ops;
  for (bool row = true;;) {
    PACI_RETURN_IF_ERROR(stmt->Step(&row));
    if (!row) return ops;
    ops.push_back(ReadOpRow(*stmt));
  }
}

namespace {

// Digests a replay in the order the engine reports it, passing every event on to `out`.
class DigestingSink : public TraceSink {
 public:
  explicit DigestingSink(TraceSink& out) : out_(out) {}
  void OnOp(const ir::TraceEvent& e) override {
    digest.Add(e);
    out_.OnOp(e);
  }
  void OnMemory(const ir::MemorySample& s) override {
    digest.Add(s);
    out_.OnMemory(s);
  }
  TraceDigest digest;

 private:
  TraceSink& out_;
};

}  // namespace

Status TraceStore::ReplayInto(const RunRecord& record, TraceSink& sink) const {
  if (!options_.replay) {
    return Status::FailedPrecondition(
        fmt::format("{}: run {} is stored by what determines it (schedule, cost model, seed), not op by op, "
                    "and this reader cannot re-simulate it",
                    path_, record.id));
  }
  if (!record.info.schedule || !record.info.cost_model) {
    return Status::Corruption(
        fmt::format("{}: replayed run {} has no schedule or cost model", path_, record.id));
  }
  DigestingSink digesting(sink);
  Status st = options_.replay(*record.info.schedule, *record.info.cost_model, digesting);
  if (!st.ok()) {
    return Status::Internal(
        fmt::format("{}: run {}: re-simulation failed: {}", path_, record.id, st.message()));
  }
  if (digesting.digest.ops() != record.op_count || digesting.digest.value() != record.ops_digest) {
    return Status::FailedPrecondition(
        fmt::format("{}: run {}: re-simulation gives {} ops (digest {:016x}), the stored run had {} (digest "
                    "{:016x}); the simulator changed since revision '{}' stored it",
                    path_, record.id, digesting.digest.ops(), digesting.digest.value(), record.op_count,
                    record.ops_digest, record.info.code_revision));
  }
  return Status::Ok();
}

Status TraceStore::Replay(const RunRecord& record, RunData* data) const {
  VectorTraceSink sink;
  sink.ops.reserve(record.op_count);
  PACI_RETURN_IF_ERROR(ReplayInto(record, sink));
  // The orders the SQL reads give: ops by id, memory by stage then time (stable: report order).
  // Expanded schedules number ops 0..n-1, so each op goes straight to its place.
  std::vector<bool> seen(sink.ops.size());
  bool dense = true;
  for (const ir::TraceEvent& e : sink.ops) {
    if (e.op_id() >= seen.size() || seen[e.op_id()]) {
      dense = false;
      break;
    }
    seen[e.op_id()] = true;
  }
  if (dense) {
    data->ops.resize(sink.ops.size());
    for (ir::TraceEvent& e : sink.ops) data->ops[e.op_id()] = std::move(e);
  } else {
    std::sort(sink.ops.begin(), sink.ops.end(),
              [](const ir::TraceEvent& a, const ir::TraceEvent& b) { return a.op_id() < b.op_id(); });
    data->ops = std::move(sink.ops);
  }
  std::stable_sort(sink.memory.begin(), sink.memory.end(),
                   [](const ir::MemorySample& a, const ir::MemorySample& b) {
                     return a.stage() != b.stage() ? a.stage() < b.stage() : a.time_ns() < b.time_ns();
                   });
  data->memory = std::move(sink.memory);
  return Status::Ok();
}

Result<std::optional<OpTileSummary>> TraceStore::LoadOpTiles(int64_t run_id) {
  auto record = GetRun(run_id);
  if (!record.ok()) return record.status();
  if (record->op_storage == OpStorage::kReplayed && options_.replay && record->op_count > 0) {
    // No stored summary: tile the re-simulation as it plays, keeping no op.
    OpTiler tiler(record->op_count, kMaxRunStages);
    PACI_RETURN_IF_ERROR(ReplayInto(*record, tiler));
    auto s = std::move(tiler).Finish();
    if (!s.ok())
      return Status::Corruption(fmt::format("{}: run {}: {}", path_, run_id, s.status().message()));
    return std::optional<OpTileSummary>(std::move(*s));
  }
  return ReadOpTiles(*db_, run_id);
}

Result<OpWindow> TraceStore::LoadOpWindow(int64_t run_id, int64_t start_ns, int64_t end_ns, int64_t max_ops) {
  auto record = GetRun(run_id);
  if (!record.ok()) return record.status();
  if (record->op_storage == OpStorage::kReplayed) {
    // Filtered as the re-simulation plays: a 9 M-op run never sits in memory whole.
    OpWindowSink window(start_ns, end_ns, max_ops);
    PACI_RETURN_IF_ERROR(ReplayInto(*record, window));
    return std::move(window).Finish();
  }
  return ReadOpWindow(*db_, run_id, start_ns, end_ns, max_ops);
}

Status TraceStore::PlayRun(int64_t run_id, TraceSink& sink) {
  auto record = GetRun(run_id);
  if (!record.ok()) return record.status();
  if (record->op_storage == OpStorage::kReplayed) return ReplayInto(*record, sink);
  PACI_RETURN_IF_ERROR(ForEachRow(*db_,
                                  fmt::format("SELECT {} FROM ops WHERE run = ?1 ORDER BY op_id", kOpColumns),
                                  run_id, [&](const SqliteStmt& s) { sink.OnOp(ReadOpRow(s)); }));
  return ForEachRow(
      *db_, "SELECT stage, time_ns, live_bytes FROM memory WHERE run = ?1 ORDER BY stage, time_ns, rowid",
      run_id, [&](const SqliteStmt& s) {
        ir::MemorySample m;
        m.set_stage(s.Int(0));
        m.set_time_ns(s.Int(1));
        m.set_live_bytes(s.Int(2));
        sink.OnMemory(m);
      });
}

Result<int64_t> TraceStore::ImportRun(const RunData& data) {
  PACI_RETURN_IF_ERROR(CheckRunData(data, "import"));
  int64_t id = 0;
  Status st;
  {  // the writer closes before a failed import is deleted
    auto writer = BeginRun(data.record.info, WriterOptions{.batch_events = 1 << 16});
    if (!writer.ok()) return writer.status();
    id = writer->run_id();
    st = [&] {
      for (const auto& e : data.ops) writer->OnOp(e);
      for (const auto& m : data.updates) writer->OnUpdate(m);
      for (const auto& s : data.memory) writer->OnMemory(s);
      for (const auto& [key, value] : data.metrics) PACI_RETURN_IF_ERROR(writer->SetMetric(key, value));
      PACI_RETURN_IF_ERROR(writer->Finish(data.record.status, data.record.message));
      // Keep the original times; writer_pid 0 says no live process owns an imported run.
      auto stmt = SqliteStmt::Prepare(
          *db_, "UPDATE runs SET start_unix_ns = ?1, end_unix_ns = ?2, writer_pid = 0 WHERE id = ?3");
      if (!stmt.ok()) return stmt.status();
      stmt->Bind(1, data.record.start_unix_ns).Bind(3, id);
      if (data.record.end_unix_ns) stmt->Bind(2, *data.record.end_unix_ns);
      return stmt->Run();
    }();
  }
  if (!st.ok()) {
    (void)DeleteRun(id);  // a failed import leaves nothing behind
    return st;
  }
  return id;
}

}  // namespace paci::store
