// RunWriter: the TraceSink through which the simulator and the executor write one run into the
// store. Events are buffered and written in batched transactions (every `batch_events` events,
// after `max_delay`, and on Flush), so a crash loses at most the batch in memory and never
// leaves a half-written one. Get one from TraceStore::BeginRun or TraceStore::AttachRun.
// A predicted run may be kept compactly: see WriterOptions::replay_above_ops.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "paci.pb.h"
#include "proto/status.h"
#include "proto/trace_sink.h"
#include "store/run_info.h"
#include "store/trace_digest.h"

namespace paci::store {

class SqliteDb;  // store-internal (sqlite_db.h)
class SqliteStmt;

// A predicted run with more ops than this is stored by what determines it (IR, cost model with
// its seed) plus its op count and digest, and re-simulated when read: `paci simulate` of 6.4 M
// ops then adds kilobytes, not 500 MiB. Smaller runs keep their op rows, so SQL over `ops` (and
// the README's example queries) works for them.
inline constexpr int64_t kReplayAboveOps = 100000;

struct WriterOptions {
  size_t batch_events = 4096;                 // events per transaction
  std::chrono::milliseconds max_delay{1000};  // a reader sees events at most this late
  // > 0: predicted runs only (BeginRun refuses others and runs without a schedule or cost
  // model). Ops and memory samples are held back until the run has more than this many ops;
  // then they are dropped and only counted and digested, and Finish marks the run 'replayed'.
  // A run that stays under the limit is written whole at Finish. 0: every op is written.
  int64_t replay_above_ops = 0;
};

// Not thread-safe: one thread at a time, as TraceSink says. Each writer has its own connection,
// so writers in several threads or processes (one per pipeline rank) may share one file.
class RunWriter : public TraceSink {
 public:
  RunWriter(RunWriter&&) noexcept;
  RunWriter& operator=(RunWriter&&) = delete;
  // Flushes; a run begun by this writer and never finished is marked failed.
  ~RunWriter() override;

  int64_t run_id() const { return run_id_; }

  void OnOp(const ir::TraceEvent& event) override;
  void OnUpdate(const ir::UpdateMetric& metric) override;
  void OnMemory(const ir::MemorySample& sample) override;
  // Commits the buffered events. A failed batch is dropped and its error kept: this and every
  // later Flush and Finish return it, so an engine that checks at the end learns of it.
  Status Flush() override;
  // The error Flush keeps: a lost batch, or the run deleted under this writer.
  Status Failure() const override { return error_; }

  // Stores a named scalar of the run (store/metric_keys.h), replacing an old value.
  Status SetMetric(std::string_view key, double value);
  // Flushes and records the outcome and end time. Only the writer that began the run records
  // status; attached writers just flush. Call once.
  Status Finish(RunStatus status, const std::string& message = "");

 private:
  friend class TraceStore;
  RunWriter(std::unique_ptr<SqliteDb> db, int64_t run_id, bool owns_run, WriterOptions options);
  Status Prepare();
  void MaybeFlush();
  // Writes the buffered updates and, unless they are still held back, ops and memory samples.
  // True when the run's row is gone: deleted under this writer.
  bool RunDeleted() const;
  Status WriteBatch(bool with_ops);
  bool HoldingOps() const { return options_.replay_above_ops > 0 && !replayed_; }
  Status RecordReplayed();
  Status WriteSummary();  // the run's op_tiles (op_tiles.h), once every op is in

  std::unique_ptr<SqliteDb> db_;
  int64_t run_id_ = 0;
  bool owns_run_ = false;
  bool finished_ = false;
  bool replayed_ = false;  // over replay_above_ops: ops are only digested from now on
  WriterOptions options_;
  std::unique_ptr<SqliteStmt> insert_op_, insert_update_, insert_memory_, insert_span_;
  std::vector<ir::TraceEvent> ops_;
  std::vector<ir::UpdateMetric> updates_;
  std::vector<ir::MemorySample> memory_;
  TraceDigest digest_;
  std::chrono::steady_clock::time_point last_flush_;
  Status error_;
};

}  // namespace paci::store
