// TraceStore: one SQLite file holding every predicted and measured run, keyed by IR op id, so a
// prediction can be put beside the run it predicted. Opening checks, before writing anything,
// that the file is a paci store this code understands; schema and migrations are in schema.h.
// Several processes may open one file at once (WAL mode, busy timeout).
// Predicted runs stored compactly (OpStorage::kReplayed) are re-simulated when read, through the
// ReplayFn a reader passes in OpenOptions: the store itself never depends on the simulator.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "proto/status.h"
#include "proto/trace_sink.h"
#include "store/op_tiles.h"
#include "store/run_info.h"
#include "store/run_writer.h"

namespace paci::store {

class SqliteDb;      // store-internal (sqlite_db.h)
class MigratedCopy;  // store-internal (migrated_copy.h)

// Plays `schedule` against `cost` into `sink`, as the engine that predicted the run did: for the
// simulator, sim::Replay (sim/simulator.h).
using ReplayFn =
    std::function<Status(const ir::Schedule& schedule, const ir::CostModel& cost, TraceSink& sink)>;

struct OpenOptions {
  bool create_if_missing = true;  // false: a missing file is an error (readers, the CLI)
  // Never writes, not even a migration: an older store is read through a migrated private copy.
  bool read_only = false;
  int busy_timeout_ms = 30000;  // how long to wait for another process's write lock
  // Materialises the ops and memory samples of replayed runs in LoadRun and LoadOps. Unset:
  // those calls fail for such runs with a message that says so; everything else works.
  ReplayFn replay = {};
};

class TraceStore {
 public:
  // Errors name the file: absent (without create_if_missing), not a paci store, newer schema.
  // Such a file is left byte-identical.
  static Result<TraceStore> Open(const std::string& path, OpenOptions options = {});

  TraceStore(TraceStore&&) noexcept;
  TraceStore& operator=(TraceStore&&) noexcept;
  ~TraceStore();

  const std::string& path() const { return path_; }
  // True when a read-only open met an older schema and reads a migrated private copy.
  bool reads_migrated_copy() const { return copy_ != nullptr; }
  // Another handle on the same store (for another thread), with the same options; a store read
  // through a migrated copy shares the copy instead of making a second one.
  Result<TraceStore> Reopen() const;

  // Creates a run (status running) and returns the writer that fills and finishes it.
  Result<RunWriter> BeginRun(const RunInfo& info, WriterOptions options = {});
  // Another writer for an existing run, e.g. for pipeline rank r > 0 of a measured run.
  Result<RunWriter> AttachRun(int64_t run_id, WriterOptions options = {});

  Result<std::vector<RunRecord>> ListRuns();
  Result<RunRecord> GetRun(int64_t run_id);
  // A replayed run's ops and memory samples are re-simulated (OpenOptions::replay) and checked
  // against the stored count and digest, so they are exactly the ones the run produced.
  Result<RunData> LoadRun(int64_t run_id);
  // The record, updates and metrics only (ops and memory empty): what a summary needs, at the
  // same cost for a run of ten ops or ten million.
  Result<RunData> LoadRunWithoutOps(int64_t run_id);
  // The ops of one stage that overlap [start_ns, end_ns), by start time: what a viewer needs for
  // the visible window of a long run without loading all of it. A replayed run is re-simulated.
  Result<std::vector<ir::TraceEvent>> LoadOps(int64_t run_id, uint32_t stage, int64_t start_ns,
                                              int64_t end_ns);
  // The run's level-of-detail summary (op_tiles.h): nullopt for a run without one (running or
  // empty). A few hundred thousand rows for a 10 M-op run. A replayed run (with
  // OpenOptions::replay) is re-simulated and tiled as it plays (OpTiler), no op kept; without
  // OpenOptions::replay it has none.
  Result<std::optional<OpTileSummary>> LoadOpTiles(int64_t run_id);
  // The ops of every stage with start < end_ns and end > start_ns (run clock), by op id, reading
  // only the op-id ranges of the summary's tiles that meet the window; more than max_ops:
  // OpWindow::truncated and no ops. A replayed run is re-simulated, keeping only the window's ops.
  Result<OpWindow> LoadOpWindow(int64_t run_id, int64_t start_ns, int64_t end_ns, int64_t max_ops);
  // Plays the run's ops and memory samples into `sink` without holding them: stored runs by op
  // id (memory by stage and time), replayed runs as the engine reports them. On an error (a
  // replay that does not match the stored digest) the sink has seen part of it: discard it.
  Status PlayRun(int64_t run_id, TraceSink& sink);
  Status DeleteRun(int64_t run_id);
  // Deletes every run of `run_ids` or none: each id is checked before the one transaction that
  // deletes them all, so `runs delete 3 999` no longer deletes 3 and then fails on 999 (issue 25).
  Status DeleteRuns(const std::vector<int64_t>& run_ids);
  // Marks a still-running run failed with `message`, through this store's own connection: for a
  // process that is stopping while another thread holds the run's writer (SIGTERM, issue 25).
  Status FailRunningRun(int64_t run_id, const std::string& message);

  // Records that `predicted` is a prediction of `measured`.
  Status LinkPrediction(int64_t predicted, int64_t measured);
  // (predicted, measured) pairs in which run_id takes part.
  Result<std::vector<std::pair<int64_t, int64_t>>> LinksOf(int64_t run_id);
  // Every (predicted, measured) pair, by predicted then measured.
  Result<std::vector<std::pair<int64_t, int64_t>>> ListLinks();
  // The values of `keys` for every run that stores them, in one query: what a run list shows
  // without reading any run.
  Result<std::map<int64_t, std::map<std::string, double>>> ListMetrics(const std::vector<std::string>& keys);
  // Last op end - first op start of a run's stored op rows (ComputeRunMetrics' makespan), by one
  // SQL aggregate over them; nullopt for a run with no stored rows (replayed or empty).
  Result<std::optional<int64_t>> StoredOpExtentNs(int64_t run_id);

  // Writes a whole run (from an import) with its status and times, every op stored; returns
  // the new id.
  Result<int64_t> ImportRun(const RunData& data);

 private:
  TraceStore(std::string path, OpenOptions options);
  // A new connection to the file with this store's pragmas; every writer gets its own.
  Result<std::unique_ptr<SqliteDb>> Connect(bool read_only) const;
  // The ops and memory samples of a replayed run, re-simulated and checked, into data or sink.
  Status Replay(const RunRecord& record, RunData* data) const;
  Status ReplayInto(const RunRecord& record, TraceSink& sink) const;

  std::string path_;
  // Set when a read-only open met an older schema; declared before db_ so that it outlives it.
  std::shared_ptr<const MigratedCopy> copy_;
  std::unique_ptr<SqliteDb> db_;
  OpenOptions options_;
};

}  // namespace paci::store
