// RunWriter: the TraceSink through which the simulator and the executor write one run into the
// store. Events are buffered and written in batched transactions (every `batch_events` events,
// after `max_delay`, and on Flush), so a crash loses at most the batch in memory and never
// leaves a half-written one. Get one from TraceStore::BeginRun or TraceStore::AttachRun.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "paci.pb.h"
#include "proto/status.h"
#include "proto/trace_sink.h"
#include "store/run_info.h"
#include "store/sqlite_db.h"

namespace paci::store {

struct WriterOptions {
  size_t batch_events = 4096;                      // events per transaction
  std::chrono::milliseconds max_delay{1000};       // a reader sees events at most this late
};

// Not thread-safe: one thread at a time, as TraceSink says. Each writer has its own connection,
// so writers in several threads or processes (one per pipeline rank) may share one file.
class RunWriter : public TraceSink {
 public:
  RunWriter(RunWriter&&) noexcept = default;
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

  // Stores a named scalar of the run (makespan_ns, tokens_per_s, ...), replacing an old value.
  Status SetMetric(const std::string& key, double value);
  // Flushes and records the outcome and end time. Only the writer that began the run records
  // status; attached writers just flush. Call once.
  Status Finish(RunStatus status, const std::string& message = "");

 private:
  friend class TraceStore;
  RunWriter(std::unique_ptr<SqliteDb> db, int64_t run_id, bool owns_run, WriterOptions options);
  Status Prepare();
  void MaybeFlush();
  Status WriteBatch();

  std::unique_ptr<SqliteDb> db_;
  int64_t run_id_ = 0;
  bool owns_run_ = false;
  bool finished_ = false;
  WriterOptions options_;
  std::optional<SqliteStmt> insert_op_, insert_update_, insert_memory_;
  std::vector<ir::TraceEvent> ops_;
  std::vector<ir::UpdateMetric> updates_;
  std::vector<ir::MemorySample> memory_;
  std::chrono::steady_clock::time_point last_flush_;
  Status error_;
};

}  // namespace paci::store
