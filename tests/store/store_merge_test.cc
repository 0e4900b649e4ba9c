// MergeStores on real SQLite files: runs copied under new ids with everything that hangs off them
// and their links remapped, duplicates refused or skipped, failed and running runs skipped, a
// failing merge leaving the target byte-identical, an older source read without being written,
// and --without-ops keeping everything but the per-op trace.
#include "store/store_merge.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "store/sqlite_db.h"
#include "store/trace_store.h"
#include "tests/store/store_test_util.h"

namespace paci::store {
namespace {

using testing::GpipeInfo;
using testing::GpipeRun;
using testing::ReadBytes;
using testing::TempDir;
using testing::WriteBytes;

// A complete run of `name` with ops, updates, memory samples and a metric; returns its id.
int64_t AddRun(TraceStore& store, const std::string& name, RunKind kind = RunKind::kMeasured,
               RunStatus status = RunStatus::kComplete) {
  RunInfo info = GpipeInfo(2, 4, kind);
  info.name = name;
  auto w = store.BeginRun(info);
  EXPECT_TRUE(w.ok()) << w.status().message();
  for (const auto& e : GpipeRun(2, 4)) w->OnOp(e);
  for (int i = 0; i < 3; ++i) {
    ir::UpdateMetric u;
    u.set_update(i);
    u.set_loss(5.0 - i);
    u.set_tokens(100 * (i + 1));
    w->OnUpdate(u);
  }
  ir::MemorySample m;
  m.set_stage(1);
  m.set_time_ns(7);
  m.set_live_bytes(4096);
  w->OnMemory(m);
  EXPECT_TRUE(w->SetMetric("val_loss", 2.5).ok());
  EXPECT_TRUE(w->Finish(status == RunStatus::kRunning ? RunStatus::kFailed : status, "").ok());
  if (status == RunStatus::kRunning) {  // as a writer that died leaves it
    auto db = SqliteDb::Open(store.path(), SQLITE_OPEN_READWRITE);
    EXPECT_TRUE(db.ok());
    EXPECT_TRUE(db->Exec(fmt::format("UPDATE runs SET status = 'running' WHERE id = {}", w->run_id())).ok());
  }
  return w->run_id();
}

TraceStore Open(const std::string& path) {
  auto s = TraceStore::Open(path);
  EXPECT_TRUE(s.ok()) << s.status().message();
  return std::move(*s);
}

// Runs are keyed by name: two runs of one name are "the same study point and seed".
MergeOptions ByName() {
  MergeOptions o;
  o.key = [](const RunRecord& r) -> std::optional<std::string> {
    return r.info.kind == RunKind::kMeasured ? std::optional<std::string>(r.info.name) : std::nullopt;
  };
  return o;
}

// Everything of a run but its id, for comparing a copy with its original.
void ExpectSameRun(TraceStore& a, int64_t ida, TraceStore& b, int64_t idb) {
  auto x = a.LoadRun(ida);
  auto y = b.LoadRun(idb);
  ASSERT_TRUE(x.ok() && y.ok());
  EXPECT_EQ(x->record.info.name, y->record.info.name);
  EXPECT_EQ(x->record.info.description, y->record.info.description);
  EXPECT_EQ(x->record.status, y->record.status);
  EXPECT_EQ(x->record.start_unix_ns, y->record.start_unix_ns);
  EXPECT_EQ(x->record.op_count, y->record.op_count);
  ASSERT_EQ(x->ops.size(), y->ops.size());
  for (size_t i = 0; i < x->ops.size(); ++i)
    EXPECT_EQ(x->ops[i].SerializeAsString(), y->ops[i].SerializeAsString());
  ASSERT_EQ(x->updates.size(), y->updates.size());
  for (size_t i = 0; i < x->updates.size(); ++i)
    EXPECT_EQ(x->updates[i].SerializeAsString(), y->updates[i].SerializeAsString());
  EXPECT_EQ(x->memory.size(), y->memory.size());
  EXPECT_EQ(x->metrics, y->metrics);
  auto tx = a.LoadOpTiles(ida);
  auto ty = b.LoadOpTiles(idb);
  ASSERT_TRUE(tx.ok() && ty.ok());
  EXPECT_EQ(tx->has_value(), ty->has_value());
}

TEST(StoreMerge, CopiesRunsUnderNewIdsAndKeepsTheirLinks) {
  TempDir dir;
  const std::string a = dir.File("a.db"), b = dir.File("b.db"), all = dir.File("all.db");
  {
    TraceStore target = Open(all);
    AddRun(target, "target's own 1");
    AddRun(target, "target's own 2");
  }
  int64_t pred = 0, meas = 0, other = 0;
  {
    TraceStore sa = Open(a);
    meas = AddRun(sa, "a measured");
    pred = AddRun(sa, "a predicted", RunKind::kPredicted);
    ASSERT_TRUE(sa.LinkPrediction(pred, meas).ok());
    TraceStore sb = Open(b);
    other = AddRun(sb, "b measured");
  }
  auto r = MergeStores({a, b}, all, ByName());
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->sources.size(), 2u);
  ASSERT_EQ(r->sources[0].copied.size(), 2u);
  EXPECT_EQ(r->sources[0].links, 1);
  const auto& ca = r->sources[0].copied;
  const auto& cb = r->sources[1].copied;
  EXPECT_EQ(ca[0], std::make_pair(meas, int64_t{3}));
  EXPECT_EQ(ca[1], std::make_pair(pred, int64_t{4}));
  EXPECT_EQ(cb[0], std::make_pair(other, int64_t{5}));

  TraceStore target = Open(all), sa = Open(a), sb = Open(b);
  auto runs = target.ListRuns();
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 5u);
  ExpectSameRun(sa, meas, target, 3);
  ExpectSameRun(sa, pred, target, 4);
  ExpectSameRun(sb, other, target, 5);
  auto links = target.ListLinks();
  ASSERT_TRUE(links.ok());
  ASSERT_EQ(links->size(), 1u);
  EXPECT_EQ((*links)[0], std::make_pair(int64_t{4}, int64_t{3}));  // predicted 4 predicts measured 3
}

TEST(StoreMerge, RefusesADuplicateAndLeavesTheTargetByteIdentical) {
  TempDir dir;
  const std::string a = dir.File("a.db"), b = dir.File("b.db"), all = dir.File("all.db");
  {
    TraceStore target = Open(all);
    AddRun(target, "point 1");
    TraceStore sa = Open(a);
    AddRun(sa, "point 2");  // copied before the duplicate is met, then rolled back
    TraceStore sb = Open(b);
    AddRun(sb, "point 3");
    AddRun(sb, "point 1");
  }
  const std::string before = ReadBytes(all);
  auto r = MergeStores({a, b}, all, ByName());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(
                b + ": run 2 ('point 1') is the same study point and seed as run 1 of " + all),
            std::string::npos)
      << r.status().message();
  EXPECT_EQ(ReadBytes(all), before);

  // With skip_duplicates the target's run is kept and the others are copied.
  MergeOptions skip = ByName();
  skip.skip_duplicates = true;
  auto ok = MergeStores({a, b}, all, skip);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->sources[0].copied.size(), 1u);
  EXPECT_EQ(ok->sources[1].copied.size(), 1u);
  ASSERT_EQ(ok->sources[1].skipped.size(), 1u);
  EXPECT_EQ(ok->sources[1].skipped[0].source_id, 2);
  EXPECT_NE(ok->sources[1].skipped[0].reason.find("duplicate of run 1 of " + all), std::string::npos);
  auto runs = Open(all).ListRuns();
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(runs->size(), 3u);

  // Merging the same stores again: every run is now a duplicate.
  const std::string after = ReadBytes(all);
  EXPECT_FALSE(MergeStores({a}, all, ByName()).ok());
  EXPECT_EQ(ReadBytes(all), after);
}

TEST(StoreMerge, DuplicatesBetweenSourcesAreFoundToo) {
  TempDir dir;
  const std::string a = dir.File("a.db"), b = dir.File("b.db"), all = dir.File("all.db");
  {
    TraceStore sa = Open(a), sb = Open(b);
    AddRun(sa, "seed 1");
    AddRun(sb, "seed 1");
  }
  auto r = MergeStores({a, b}, all, ByName());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("run 1 of " + a), std::string::npos) << r.status().message();
  EXPECT_FALSE(std::filesystem::exists(all)) << "a target the failed merge created is removed";
}

TEST(StoreMerge, BadSourcesFailNamingTheFileAndWriteNothing) {
  TempDir dir;
  const std::string a = dir.File("a.db"), all = dir.File("all.db"), foreign = dir.File("notes.db");
  {
    TraceStore target = Open(all);
    AddRun(target, "mine");
    TraceStore sa = Open(a);
    AddRun(sa, "theirs");
  }
  WriteBytes(foreign, "not a database, just text that is long enough to look like a header.....");
  const std::string before = ReadBytes(all);
  for (const std::vector<std::string>& sources :
       {std::vector<std::string>{a, foreign}, {a, dir.File("missing.db")}, {a, a}, {a, all}}) {
    auto r = MergeStores(sources, all, ByName());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find(sources[1]), std::string::npos) << r.status().message();
    EXPECT_EQ(ReadBytes(all), before) << sources[1];
  }
  // A target that is not a paci store is not touched either.
  const std::string foreign_before = ReadBytes(foreign);
  EXPECT_FALSE(MergeStores({a}, foreign, ByName()).ok());
  EXPECT_EQ(ReadBytes(foreign), foreign_before);
}

TEST(StoreMerge, SkipsFailedAndRunningRuns) {
  TempDir dir;
  const std::string a = dir.File("a.db"), all = dir.File("all.db");
  {
    TraceStore sa = Open(a);
    AddRun(sa, "done");
    AddRun(sa, "broke", RunKind::kMeasured, RunStatus::kFailed);
    AddRun(sa, "still going", RunKind::kMeasured, RunStatus::kRunning);
  }
  auto r = MergeStores({a}, all, ByName());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->target_created);
  ASSERT_EQ(r->sources[0].copied.size(), 1u);
  ASSERT_EQ(r->sources[0].skipped.size(), 2u);
  EXPECT_EQ(r->sources[0].skipped[0].reason, "failed");
  EXPECT_EQ(r->sources[0].skipped[1].reason, "running");
}

TEST(StoreMerge, ReadsAnOlderSourceWithoutChangingIt) {
  TempDir dir;
  const std::string old = dir.File("old.db"), all = dir.File("all.db");
  WriteBytes(old, ReadBytes(std::string(PACI_TRACES_DIR) + "/paci-vs-flush-p2.db"));  // schema version 2
  const std::string before = ReadBytes(old);
  auto r = MergeStores({old}, all, ByName());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(ReadBytes(old), before);
  OpenOptions read;
  read.read_only = true;
  read.create_if_missing = false;
  auto src = TraceStore::Open(old, read);
  ASSERT_TRUE(src.ok());
  auto runs = src->ListRuns();
  ASSERT_TRUE(runs.ok());
  TraceStore target = Open(all);
  ASSERT_EQ(r->sources[0].copied.size(), runs->size());
  for (const auto& [from, to] : r->sources[0].copied) ExpectSameRun(*src, from, target, to);
  auto links = src->ListLinks();
  ASSERT_TRUE(links.ok());
  EXPECT_EQ(r->sources[0].links, static_cast<int64_t>(links->size()));
  EXPECT_EQ(ReadBytes(old), before);
}

TEST(StoreMerge, WithoutOpsKeepsEverythingButThePerOpTrace) {
  TempDir dir;
  const std::string a = dir.File("a.db"), all = dir.File("all.db");
  int64_t id = 0;
  {
    TraceStore sa = Open(a);
    id = AddRun(sa, "run");
  }
  MergeOptions o = ByName();
  o.without_ops = true;
  auto r = MergeStores({a}, all, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  TraceStore target = Open(all), sa = Open(a);
  auto copy = target.LoadRun(r->sources[0].copied[0].second);
  auto orig = sa.LoadRun(id);
  ASSERT_TRUE(copy.ok() && orig.ok());
  EXPECT_TRUE(copy->ops.empty());
  EXPECT_EQ(copy->record.op_count, 0);
  EXPECT_EQ(copy->updates.size(), orig->updates.size());
  EXPECT_EQ(copy->memory.size(), orig->memory.size());
  EXPECT_EQ(copy->metrics, orig->metrics);
  auto tiles = target.LoadOpTiles(copy->record.id);
  ASSERT_TRUE(tiles.ok());
  EXPECT_FALSE(tiles->has_value());
  auto extent = target.StoredOpExtentNs(copy->record.id);
  ASSERT_TRUE(extent.ok());
  EXPECT_FALSE(extent->has_value());
}

}  // namespace
}  // namespace paci::store
