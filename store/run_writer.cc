#include "store/run_writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "store/op_tiles.h"
#include "store/sqlite_db.h"

namespace paci::store {
namespace {

int64_t UnixNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

RunWriter::RunWriter(std::unique_ptr<SqliteDb> db, int64_t run_id, bool owns_run, WriterOptions options)
    : db_(std::move(db)), run_id_(run_id), owns_run_(owns_run), options_(options),
      last_flush_(std::chrono::steady_clock::now()) {}

RunWriter::RunWriter(RunWriter&&) noexcept = default;

RunWriter::~RunWriter() {
  if (!db_ || finished_) return;
  if (owns_run_) {
    Finish(RunStatus::kFailed, "writer closed before Finish");
  } else {
    Flush();
  }
}

Status RunWriter::Prepare() {
  auto op = SqliteStmt::Prepare(*db_, "INSERT INTO ops VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)");
  if (!op.ok()) return op.status();
  auto up = SqliteStmt::Prepare(*db_, "INSERT INTO updates VALUES (?1,?2,?3,?4,?5,?6,?7)");
  if (!up.ok()) return up.status();
  auto mem = SqliteStmt::Prepare(*db_, "INSERT INTO memory VALUES (?1,?2,?3,?4)");
  if (!mem.ok()) return mem.status();
  auto span = SqliteStmt::Prepare(*db_,
                                  "UPDATE runs SET op_count = coalesce(op_count, 0) + ?2, "
                                  "first_start_ns = min(coalesce(first_start_ns, ?3), ?3), "
                                  "last_end_ns = max(coalesce(last_end_ns, ?4), ?4) WHERE id = ?1");
  if (!span.ok()) return span.status();
  insert_span_ = std::make_unique<SqliteStmt>(std::move(*span));
  insert_op_ = std::make_unique<SqliteStmt>(std::move(*op));
  insert_update_ = std::make_unique<SqliteStmt>(std::move(*up));
  insert_memory_ = std::make_unique<SqliteStmt>(std::move(*mem));
  return Status::Ok();
}

void RunWriter::OnOp(const ir::TraceEvent& event) {
  digest_.Add(event);
  if (replayed_) return;
  ops_.push_back(event);
  if (HoldingOps() && digest_.ops() > options_.replay_above_ops) {
    replayed_ = true;  // from here on the run is kept by what determines it
    ops_ = {};
    memory_ = {};
  }
  MaybeFlush();
}

void RunWriter::OnUpdate(const ir::UpdateMetric& metric) {
  updates_.push_back(metric);
  MaybeFlush();
}

void RunWriter::OnMemory(const ir::MemorySample& sample) {
  digest_.Add(sample);
  if (replayed_) return;
  memory_.push_back(sample);
  MaybeFlush();
}

void RunWriter::MaybeFlush() {
  if (HoldingOps()) return;  // decided at the limit or at Finish
  const size_t pending = ops_.size() + updates_.size() + memory_.size();
  if (pending >= options_.batch_events ||
      std::chrono::steady_clock::now() - last_flush_ >= options_.max_delay) {
    Flush();  // an error is kept in error_ and returned by the next Flush or Finish
  }
}

Status RunWriter::Flush() {
  if (!db_) return Status::FailedPrecondition("flush of a moved-from RunWriter");
  const bool with_ops = !HoldingOps();
  if (updates_.empty() && (!with_ops || (ops_.empty() && memory_.empty()))) return error_;
  Status st = WriteBatch(with_ops);
  updates_.clear();
  if (with_ops) {
    ops_.clear();
    memory_.clear();
  }
  last_flush_ = std::chrono::steady_clock::now();
  if (!st.ok() && error_.ok()) {
    error_ = RunDeleted() ? Status::FailedPrecondition(fmt::format(
                                "run {} was deleted while it was being written (paci runs delete); "
                                "nothing more of it is stored",
                                run_id_))
                          : Status::IoError(fmt::format("run {}: batch lost: {}", run_id_, st.message()));
  }
  return error_;
}

bool RunWriter::RunDeleted() const {
  auto stmt = SqliteStmt::Prepare(*db_, "SELECT 1 FROM runs WHERE id = ?1");
  if (!stmt.ok()) return false;
  bool row = false;
  return stmt->Bind(1, run_id_).Step(&row).ok() && !row;
}

Status RunWriter::WriteBatch(bool with_ops) {
  if (!insert_op_) PACI_RETURN_IF_ERROR(Prepare());
  auto txn = SqliteTxn::Begin(*db_);
  if (!txn.ok()) return txn.status();
  const size_t n_ops = with_ops ? ops_.size() : 0, n_memory = with_ops ? memory_.size() : 0;
  int64_t first_start = INT64_MAX, last_end = INT64_MIN;
  for (size_t i = 0; i < n_ops; ++i) {
    const ir::TraceEvent& e = ops_[i];
    first_start = std::min(first_start, e.start_ns());
    last_end = std::max(last_end, e.end_ns());
    insert_op_->Bind(1, run_id_)
        .Bind(2, static_cast<int64_t>(e.op_id()))
        .Bind(3, e.stage())
        .Bind(4, e.chunk())
        .Bind(5, static_cast<int64_t>(e.micro_batch()))
        .Bind(6, e.kind())
        .Bind(7, e.lane())
        .Bind(8, e.start_ns())
        .Bind(9, e.end_ns())
        .Bind(10, e.weight_version())
        .Bind(11, static_cast<int64_t>(e.live_bytes()));
    PACI_RETURN_IF_ERROR(insert_op_->Run());
  }
  for (const ir::UpdateMetric& m : updates_) {
    insert_update_->Bind(1, run_id_)
        .Bind(2, static_cast<int64_t>(m.update()))
        .BindDouble(3, m.loss())
        .BindDouble(4, m.val_loss())
        .BindDouble(5, m.learning_rate())
        .Bind(6, static_cast<int64_t>(m.tokens()))
        .Bind(7, m.wall_ns());
    PACI_RETURN_IF_ERROR(insert_update_->Run());
  }
  for (size_t i = 0; i < n_memory; ++i) {
    const ir::MemorySample& s = memory_[i];
    insert_memory_->Bind(1, run_id_)
        .Bind(2, s.stage())
        .Bind(3, s.time_ns())
        .Bind(4, static_cast<int64_t>(s.live_bytes()));
    PACI_RETURN_IF_ERROR(insert_memory_->Run());
  }
  if (n_ops > 0) {
    // The run's op count and span, in the batch's transaction: a run list reads them from the
    // run's row, and several writers (one per rank) add up.
    insert_span_->Bind(1, run_id_)
        .Bind(2, static_cast<int64_t>(n_ops))
        .Bind(3, first_start)
        .Bind(4, last_end);
    PACI_RETURN_IF_ERROR(insert_span_->Run());
  }
  return txn->Commit();
}

Status RunWriter::SetMetric(std::string_view key, double value) {
  if (!db_) return Status::FailedPrecondition("SetMetric on a moved-from RunWriter");
  auto stmt = SqliteStmt::Prepare(*db_, "INSERT OR REPLACE INTO metrics VALUES (?1, ?2, ?3)");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, run_id_).BindText(2, key).BindDouble(3, value);
  return stmt->Run();
}

Status RunWriter::Finish(RunStatus status, const std::string& message) {
  if (!db_) return Status::FailedPrecondition("Finish of a moved-from RunWriter");
  if (finished_) return Status::FailedPrecondition(fmt::format("run {}: finished twice", run_id_));
  finished_ = true;
  // A run that stayed under the replay limit is stored whole after all.
  if (HoldingOps()) options_.replay_above_ops = 0;
  Status flushed = Flush();
  if (flushed.ok() && replayed_) flushed = RecordReplayed();
  if (!owns_run_) return flushed;
  // Every rank has flushed before the owner finishes (pipeline_train's barrier): summarise them.
  if (flushed.ok() && !replayed_) flushed = WriteSummary();
  if (!flushed.ok() && status == RunStatus::kComplete) status = RunStatus::kFailed;
  auto stmt =
      SqliteStmt::Prepare(*db_, "UPDATE runs SET status = ?1, message = ?2, end_unix_ns = ?3 WHERE id = ?4");
  if (!stmt.ok()) return stmt.status();
  stmt->BindText(1, RunStatusName(status))
      .BindText(2, flushed.ok() ? message : flushed.message())
      .Bind(3, UnixNowNs())
      .Bind(4, run_id_);
  PACI_RETURN_IF_ERROR(stmt->Run());
  return flushed;
}

Status RunWriter::WriteSummary() {
  auto txn = SqliteTxn::Begin(*db_);
  if (!txn.ok()) return txn.status();
  PACI_RETURN_IF_ERROR(WriteOpTiles(*db_, run_id_));
  return txn->Commit();
}

Status RunWriter::RecordReplayed() {
  auto stmt = SqliteStmt::Prepare(
      *db_,
      "UPDATE runs SET op_storage = 'replayed', replay_ops = ?1, op_count = ?1, replay_digest = ?2 "
      "WHERE id = ?3");
  if (!stmt.ok()) return stmt.status();
  // SQLite integers are signed: the digest is stored as its two's-complement bit pattern.
  return stmt->Bind(1, digest_.ops()).Bind(2, static_cast<int64_t>(digest_.value())).Bind(3, run_id_).Run();
}

}  // namespace paci::store
