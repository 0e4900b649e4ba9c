// A run written through RunWriter comes back from LoadRun unchanged; listing, deleting, linking,
// metrics and the migration of an older store behave as a user of `paci runs` expects.
#include <google/protobuf/util/message_differencer.h>

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "store/schema.h"
#include "store/trace_store.h"
#include "tests/store/store_test_util.h"

namespace paci::store {
namespace {

using google::protobuf::util::MessageDifferencer;
using testing::GpipeInfo;
using testing::GpipeRun;
using testing::TempDir;

std::vector<ir::UpdateMetric> SomeUpdates() {
  std::vector<ir::UpdateMetric> updates;
  for (int i = 0; i < 3; ++i) {
    ir::UpdateMetric& m = updates.emplace_back();
    m.set_update(i);
    m.set_loss(4.0 - i * 0.5);
    m.set_val_loss(i == 1 ? 3.25 : std::numeric_limits<double>::quiet_NaN());
    m.set_learning_rate(1e-3);
    m.set_tokens(2048 * (i + 1));
    m.set_wall_ns(1000000 * (i + 1));
  }
  return updates;
}

int64_t WriteRun(TraceStore& store, const std::vector<ir::TraceEvent>& ops,
                 const std::vector<ir::UpdateMetric>& updates, RunKind kind = RunKind::kPredicted) {
  auto writer = store.BeginRun(GpipeInfo(4, 8, kind), WriterOptions{.batch_events = 7});
  EXPECT_TRUE(writer.ok()) << writer.status().ToString();
  for (const auto& e : ops) writer->OnOp(e);
  for (const auto& m : updates) writer->OnUpdate(m);
  ir::MemorySample sample;
  sample.set_stage(2);
  sample.set_time_ns(55);
  sample.set_live_bytes(12345);
  writer->OnMemory(sample);
  EXPECT_TRUE(writer->SetMetric("makespan_ns", 905).ok());
  EXPECT_TRUE(writer->Finish(RunStatus::kComplete).ok());
  return writer->run_id();
}

TEST(StoreRoundTrip, RunComesBackEqual) {
  TempDir dir;
  auto store = TraceStore::Open(dir.File("paci.db"));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const auto ops = GpipeRun(4, 8);
  const auto updates = SomeUpdates();
  const int64_t id = WriteRun(*store, ops, updates);

  auto run = store->LoadRun(id);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  ASSERT_EQ(run->ops.size(), ops.size());
  for (size_t i = 0; i < ops.size(); ++i)
    EXPECT_TRUE(MessageDifferencer::Equals(run->ops[i], ops[i])) << "op " << i;
  ASSERT_EQ(run->updates.size(), updates.size());
  for (size_t i = 0; i < updates.size(); ++i) {
    EXPECT_EQ(run->updates[i].loss(), updates[i].loss());
    EXPECT_EQ(std::isnan(run->updates[i].val_loss()), std::isnan(updates[i].val_loss()));
    EXPECT_EQ(run->updates[i].tokens(), updates[i].tokens());
    EXPECT_EQ(run->updates[i].wall_ns(), updates[i].wall_ns());
  }
  EXPECT_EQ(run->updates[1].val_loss(), 3.25);
  ASSERT_EQ(run->memory.size(), 1u);
  EXPECT_EQ(run->memory[0].live_bytes(), 12345u);
  EXPECT_EQ(run->metrics.at("makespan_ns"), 905);

  const RunRecord& r = run->record;
  const RunInfo want = GpipeInfo(4, 8);
  EXPECT_EQ(r.status, RunStatus::kComplete);
  EXPECT_EQ(r.state, RunState::kComplete);
  EXPECT_EQ(r.info.kind, RunKind::kPredicted);
  EXPECT_EQ(r.op_count, static_cast<int64_t>(ops.size()));
  ASSERT_TRUE(r.info.schedule.has_value());
  EXPECT_TRUE(MessageDifferencer::Equals(*r.info.schedule, *want.schedule));
  EXPECT_TRUE(MessageDifferencer::Equals(r.info.spec, want.spec));
  ASSERT_TRUE(r.info.cost_model.has_value());
  EXPECT_TRUE(MessageDifferencer::Equals(*r.info.cost_model, *want.cost_model));
  EXPECT_EQ(r.info.description, want.description);
  EXPECT_EQ(r.info.code_revision, "test-rev");
  EXPECT_FALSE(r.info.host.empty());
  EXPECT_TRUE(r.end_unix_ns.has_value());
  EXPECT_GE(*r.end_unix_ns, r.start_unix_ns);
}

TEST(StoreRoundTrip, LoadOpsReturnsTheStageWindow) {
  TempDir dir;
  auto store = TraceStore::Open(dir.File("paci.db"));
  const auto ops = GpipeRun(4, 8);
  const int64_t id = WriteRun(*store, ops, {});
  auto window = store->LoadOps(id, 2, 100, 200);
  ASSERT_TRUE(window.ok()) << window.status().ToString();
  size_t want = 0;
  for (const auto& e : ops) want += e.stage() == 2 && e.start_ns() < 200 && e.end_ns() > 100;
  ASSERT_GT(want, 0u);
  EXPECT_EQ(window->size(), want);
  for (const auto& e : *window) {
    EXPECT_EQ(e.stage(), 2u);
    EXPECT_TRUE(e.start_ns() < 200 && e.end_ns() > 100) << e.ShortDebugString();
  }
}

TEST(StoreRoundTrip, ListDeleteAndLink) {
  TempDir dir;
  auto store = TraceStore::Open(dir.File("paci.db"));
  ASSERT_TRUE(store.ok());
  const int64_t pred = WriteRun(*store, GpipeRun(2, 2), {});
  const int64_t meas = WriteRun(*store, GpipeRun(2, 2), SomeUpdates(), RunKind::kMeasured);
  EXPECT_TRUE(store->LinkPrediction(pred, meas).ok());
  EXPECT_FALSE(store->LinkPrediction(meas, pred).ok());  // the measured run cannot predict
  auto links = store->LinksOf(meas);
  ASSERT_TRUE(links.ok());
  ASSERT_EQ(links->size(), 1u);
  EXPECT_EQ((*links)[0], std::make_pair(pred, meas));

  auto runs = store->ListRuns();
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[1].info.kind, RunKind::kMeasured);

  ASSERT_TRUE(store->DeleteRun(pred).ok());
  runs = store->ListRuns();
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ((*runs)[0].id, meas);
  EXPECT_TRUE(store->LinksOf(meas)->empty());
  EXPECT_EQ(store->LoadRun(pred).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(store->DeleteRun(pred).code(), Status::Code::kNotFound);
}

TEST(StoreRoundTrip, WriterDroppedWithoutFinishMarksRunFailed) {
  TempDir dir;
  auto store = TraceStore::Open(dir.File("paci.db"));
  ASSERT_TRUE(store.ok());
  int64_t id = 0;
  {
    auto writer = store->BeginRun(GpipeInfo(2, 2));
    ASSERT_TRUE(writer.ok());
    id = writer->run_id();
    for (const auto& e : GpipeRun(2, 2)) writer->OnOp(e);
    auto live = store->GetRun(id);
    EXPECT_EQ(live->state, RunState::kRunning);  // its writer, this process, is alive
  }
  auto run = store->LoadRun(id);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->record.state, RunState::kFailed);
  EXPECT_EQ(run->ops.size(), GpipeRun(2, 2).size());  // buffered events were still flushed
}

TEST(StoreRoundTrip, DuplicateOpIdIsReportedAndItsBatchDropped) {
  TempDir dir;
  auto store = TraceStore::Open(dir.File("paci.db"));
  auto writer = store->BeginRun(GpipeInfo(2, 2));
  ASSERT_TRUE(writer.ok());
  const auto ops = GpipeRun(2, 2);
  writer->OnOp(ops[0]);
  ASSERT_TRUE(writer->Flush().ok());
  // The next batch repeats op 0 at its end: none of that batch may be stored, not even a part.
  for (int i = 1; i <= 4; ++i) writer->OnOp(ops[i]);
  writer->OnOp(ops[0]);
  EXPECT_FALSE(writer->Flush().ok());
  Status st = writer->Finish(RunStatus::kComplete);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("UNIQUE"), std::string::npos) << st.message();
  auto run = store->LoadRun(writer->run_id());
  EXPECT_EQ(run->record.status, RunStatus::kFailed);
  ASSERT_EQ(run->ops.size(), 1u);
  EXPECT_EQ(run->ops[0].op_id(), ops[0].op_id());
}

TEST(StoreRoundTrip, AttachedWriterAddsOpsOfAnotherRank) {
  TempDir dir;
  auto store = TraceStore::Open(dir.File("paci.db"));
  auto rank0 = store->BeginRun(GpipeInfo(2, 2, RunKind::kMeasured));
  ASSERT_TRUE(rank0.ok());
  auto rank1 = store->AttachRun(rank0->run_id());
  ASSERT_TRUE(rank1.ok());
  const auto ops = GpipeRun(2, 2);
  for (const auto& e : ops) (e.stage() == 0 ? *rank0 : *rank1).OnOp(e);
  EXPECT_TRUE(rank1->Finish(RunStatus::kComplete).ok());
  EXPECT_EQ(store->GetRun(rank0->run_id())->status, RunStatus::kRunning);  // rank 0 owns status
  EXPECT_TRUE(rank0->Finish(RunStatus::kComplete).ok());
  auto run = store->LoadRun(rank0->run_id());
  EXPECT_EQ(run->ops.size(), ops.size());
  EXPECT_EQ(run->record.status, RunStatus::kComplete);
}

TEST(StoreSchema, OlderStoreIsMigratedKeepingItsRuns) {
  TempDir dir;
  const std::string path = dir.File("old.db");
  {
    auto db = SqliteDb::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(MigrateTo(*db, 1).ok());
    ASSERT_TRUE(db->Exec("INSERT INTO runs (kind, status) VALUES ('measured', 'complete');"
                         "INSERT INTO ops VALUES (1, 0, 0, 0, 1, 1, 0, 0, 10, 0, 0);").ok());
  }
  auto store = TraceStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto run = store->LoadRun(1);  // LoadRun reads the metrics table, which version 2 added
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->ops.size(), 1u);
  auto db = SqliteDb::Open(path, SQLITE_OPEN_READONLY);
  auto version = SqliteStmt::Prepare(*db, "PRAGMA user_version");
  bool row = false;
  ASSERT_TRUE(version->Step(&row).ok());
  EXPECT_EQ(version->Int(0), kSchemaVersion);
}

TEST(StoreSchema, MissingFileWithoutCreateIsNotFound) {
  TempDir dir;
  auto store = TraceStore::Open(dir.File("none.db"), OpenOptions{.create_if_missing = false});
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("none.db"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir.File("none.db")));
}

}  // namespace
}  // namespace paci::store
