// The level-of-detail summary of runs stored op by op (store/op_tiles.h) on a real SQLite file:
// the run's op count and span kept on its row, tile busy totals equal to the sums over its op
// rows, windowed loads that return exactly the ops whose intervals meet the window (measured-like
// runs with overlapping ops and op ids out of time order), and a version-3 store migrated to 4.
#include <algorithm>
#include <array>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "store/op_tiles.h"
#include "store/schema.h"
#include "store/sqlite_db.h"
#include "store/trace_store.h"
#include "tests/store/sqlite_query.h"
#include "tests/store/store_test_util.h"

namespace paci::store {
namespace {

using testing::Event;
using testing::TempDir;
using testing::Query;


// A measured-like run: P stages, jittered and overlapping op times (a long op every so often).
// Op ids are sparse and stage-major as the IR numbers them, shuffled within blocks of 64 so that
// id order is not time order. Deterministic for a seed.
std::vector<ir::TraceEvent> JitteredRun(uint32_t P, size_t per_stage, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> ids(P * per_stage);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = 1000 + 3 * i;
  for (size_t b = 0; b < ids.size(); b += 64)
    std::shuffle(ids.begin() + b, ids.begin() + std::min(ids.size(), b + 64), rng);
  std::vector<ir::TraceEvent> ops;
  const ir::OpKind kinds[] = {ir::FORWARD, ir::BACKWARD, ir::SEND_ACTIVATION, ir::RECV_GRAD};
  size_t next = 0;
  for (uint32_t s = 0; s < P; ++s) {
    int64_t t = 5'000'000 + 7 * s;  // a measured clock does not start at 0
    for (size_t n = 0; n < per_stage; ++n) {
      const ir::OpKind kind = kinds[rng() % 4];
      const int64_t dur = (n % 97 == 0) ? 20000 + static_cast<int64_t>(rng() % 5000)
                                        : 1 + static_cast<int64_t>(rng() % 300);
      ops.push_back(Event(ids[next++], s, 0, n, kind, t, t + dur, -1, 0));
      t += static_cast<int64_t>(rng() % 250);  // overlaps when the step is shorter than dur
    }
  }
  return ops;
}

Result<int64_t> WriteRun(TraceStore& store, const std::vector<ir::TraceEvent>& ops, uint32_t P) {
  auto writer = store.BeginRun(testing::GpipeInfo(P, 4, RunKind::kMeasured),
                               WriterOptions{.batch_events = 1000});
  if (!writer.ok()) return writer.status();
  for (const auto& e : ops) writer->OnOp(e);
  PACI_RETURN_IF_ERROR(writer->Finish(RunStatus::kComplete));
  return writer->run_id();
}

std::vector<uint64_t> IdsMeeting(const std::vector<ir::TraceEvent>& ops, int64_t t0, int64_t t1) {
  std::vector<uint64_t> ids;
  for (const auto& e : ops)
    if (e.start_ns() < t1 && e.end_ns() > t0) ids.push_back(e.op_id());
  std::sort(ids.begin(), ids.end());
  return ids;
}

TEST(OpTiles, SpanAndBusyTotalsEqualTheOpRows) {
  TempDir dir;
  const std::string path = dir.File("t.db");
  auto store = TraceStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const auto ops = JitteredRun(4, 5000, 7);
  auto id = WriteRun(*store, ops, 4);
  ASSERT_TRUE(id.ok()) << id.status().ToString();

  auto record = store->GetRun(*id);
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->op_count, static_cast<int64_t>(ops.size()));
  const std::string run = std::to_string(*id);
  EXPECT_EQ(Query(path, "SELECT first_start_ns FROM runs WHERE id = " + run),
            Query(path, "SELECT min(start_ns) FROM ops WHERE run = " + run));
  EXPECT_EQ(Query(path, "SELECT last_end_ns FROM runs WHERE id = " + run),
            Query(path, "SELECT max(end_ns) FROM ops WHERE run = " + run));

  auto tiles = store->LoadOpTiles(*id);
  ASSERT_TRUE(tiles.ok()) << tiles.status().ToString();
  ASSERT_TRUE(tiles->has_value());
  const OpTileSummary& s = **tiles;
  EXPECT_EQ(s.op_count, static_cast<int64_t>(ops.size()));
  EXPECT_GT(s.tiles.size(), 100u);
  // Per stage and lane: busy, count, latest end from the tiles against SQL over the op rows.
  std::map<std::pair<uint32_t, int>, std::array<int64_t, 3>> from_tiles;
  for (const OpTile& t : s.tiles) {
    auto& a = from_tiles[{t.stage, t.lane}];
    a[0] += t.busy_ns;
    a[1] += t.ops;
    a[2] = std::max(a[2], t.max_end_ns);
    EXPECT_LE(t.min_op_id, t.max_op_id);
    EXPECT_GE(t.tile, 0);
    EXPECT_LT(t.tile, kMaxTilesPerSpan);
  }
  for (const auto& [key, a] : from_tiles) {
    const std::string where = " FROM ops WHERE run = " + run + " AND stage = " +
                              std::to_string(key.first) + " AND lane = " + std::to_string(key.second);
    EXPECT_EQ(a[0], Query(path, "SELECT sum(end_ns - start_ns)" + where));
    EXPECT_EQ(a[1], Query(path, "SELECT count(*)" + where));
    EXPECT_EQ(a[2], Query(path, "SELECT max(end_ns)" + where));
  }
  EXPECT_EQ(Query(path, "SELECT sum(busy_ns) FROM op_tiles WHERE run = " + run),
            Query(path, "SELECT sum(end_ns - start_ns) FROM ops WHERE run = " + run));

  // Deleting the run deletes its summary.
  ASSERT_TRUE(store->DeleteRun(*id).ok());
  EXPECT_EQ(Query(path, "SELECT count(*) FROM op_tiles"), 0);
}

TEST(OpTiles, WindowReturnsExactlyTheOpsMeetingIt) {
  TempDir dir;
  auto store = TraceStore::Open(dir.File("w.db"));
  ASSERT_TRUE(store.ok());
  const auto ops = JitteredRun(3, 6000, 11);
  auto id = WriteRun(*store, ops, 3);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  auto tiles = store->LoadOpTiles(*id);
  ASSERT_TRUE(tiles.ok() && tiles->has_value());
  const int64_t first = (*tiles)->first_start_ns, last = (*tiles)->last_end_ns;

  std::mt19937_64 rng(3);
  std::vector<std::pair<int64_t, int64_t>> windows = {
      {first - 100, first},            // before the run: nothing
      {first, first + 1},              // the first op's first nanosecond
      {last - 1, last},                // the last nanosecond
      {last, last + 1000},             // after the run: nothing
      {first - 10, last + 10},         // the whole run
      {ops[123].start_ns(), ops[123].end_ns()},  // exactly one op's interval
  };
  for (int i = 0; i < 40; ++i) {
    const int64_t a = first + static_cast<int64_t>(rng() % static_cast<uint64_t>(last - first));
    const int64_t len = 1 + static_cast<int64_t>(rng() % static_cast<uint64_t>((last - first) / (i % 5 == 0 ? 3 : 200)));
    windows.emplace_back(a, a + len);
  }
  for (const auto& [t0, t1] : windows) {
    auto w = store->LoadOpWindow(*id, t0, t1, 1 << 30);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    ASSERT_FALSE(w->truncated);
    std::vector<uint64_t> got;
    for (const auto& e : w->ops) got.push_back(e.op_id());
    EXPECT_TRUE(std::is_sorted(got.begin(), got.end()));
    EXPECT_EQ(got, IdsMeeting(ops, t0, t1)) << "window [" << t0 << ", " << t1 << ")";
    // The same ops as the per-stage LoadOps, which scans the run.
    size_t per_stage = 0;
    for (uint32_t st = 0; st < 3; ++st) {
      auto l = store->LoadOps(*id, st, t0, t1);
      ASSERT_TRUE(l.ok());
      per_stage += l->size();
    }
    EXPECT_EQ(per_stage, got.size());
  }
  // A narrow window reads a small part of the run's ids, not all of them.
  const int64_t mid = (first + last) / 2;
  auto narrow = store->LoadOpWindow(*id, mid, mid + (last - first) / 100, 1 << 30);
  ASSERT_TRUE(narrow.ok());
  EXPECT_LT(narrow->ids_read, static_cast<int64_t>(ops.size()) * 3 / 10);  // ids span 3x the count
  // Over the cap: truncated, no ops.
  auto capped = store->LoadOpWindow(*id, first, last + 1, 100);
  ASSERT_TRUE(capped.ok());
  EXPECT_TRUE(capped->truncated);
  EXPECT_TRUE(capped->ops.empty());
}

TEST(OpTiles, SeveralWritersAddUpAndTheOwnerSummarises) {
  TempDir dir;
  auto store = TraceStore::Open(dir.File("m.db"));
  ASSERT_TRUE(store.ok());
  const auto ops = JitteredRun(2, 3000, 5);
  auto owner = store->BeginRun(testing::GpipeInfo(2, 4, RunKind::kMeasured));
  ASSERT_TRUE(owner.ok());
  {
    auto rank1 = store->AttachRun(owner->run_id());
    ASSERT_TRUE(rank1.ok());
    for (const auto& e : ops) (e.stage() == 1 ? *rank1 : *owner).OnOp(e);
    ASSERT_TRUE(rank1->Finish(RunStatus::kComplete).ok());
  }
  ASSERT_TRUE(owner->Finish(RunStatus::kComplete).ok());
  auto tiles = store->LoadOpTiles(owner->run_id());
  ASSERT_TRUE(tiles.ok() && tiles->has_value());
  int64_t count = 0;
  for (const OpTile& t : (*tiles)->tiles) count += t.ops;
  EXPECT_EQ(count, static_cast<int64_t>(ops.size()));
  EXPECT_EQ((*tiles)->op_count, static_cast<int64_t>(ops.size()));
}

TEST(OpTiles, VersionThreeStoreMigratesWithCountsAndSummary) {
  TempDir dir;
  const std::string path = dir.File("v3.db");
  const auto ops = JitteredRun(2, 2000, 9);
  {
    auto db = SqliteDb::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(MigrateTo(*db, 3).ok());
    ASSERT_TRUE(db->Exec("INSERT INTO runs (id, kind, status) VALUES (1, 'measured', 'complete');"
                         "INSERT INTO runs (id, kind, status) VALUES (2, 'measured', 'running');").ok());
    auto insert = SqliteStmt::Prepare(*db, "INSERT INTO ops VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)");
    ASSERT_TRUE(insert.ok());
    ASSERT_TRUE(db->Exec("BEGIN").ok());  // one commit, not one fsync per row
    for (int64_t run : {1, 2}) {
      for (const auto& e : ops) {
        insert->Bind(1, run).Bind(2, static_cast<int64_t>(e.op_id())).Bind(3, e.stage()).Bind(4, 0)
            .Bind(5, static_cast<int64_t>(e.micro_batch())).Bind(6, e.kind()).Bind(7, e.lane())
            .Bind(8, e.start_ns()).Bind(9, e.end_ns()).Bind(10, -1).Bind(11, 0);
        ASSERT_TRUE(insert->Run().ok());
      }
    }
    ASSERT_TRUE(db->Exec("COMMIT").ok());
  }
  ASSERT_EQ(Query(path, "PRAGMA user_version"), 3);
  auto store = TraceStore::Open(path, OpenOptions{.create_if_missing = false});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(Query(path, "PRAGMA user_version"), kSchemaVersion);
  auto list = store->ListRuns();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  for (const RunRecord& r : *list) EXPECT_EQ(r.op_count, static_cast<int64_t>(ops.size()));
  // The finished run gains its summary; the one still running gets it when its writer finishes.
  auto done = store->LoadOpTiles(1);
  ASSERT_TRUE(done.ok() && done->has_value());
  EXPECT_EQ(Query(path, "SELECT sum(busy_ns) FROM op_tiles WHERE run = 1"),
            Query(path, "SELECT sum(end_ns - start_ns) FROM ops WHERE run = 1"));
  auto running = store->LoadOpTiles(2);
  ASSERT_TRUE(running.ok());
  EXPECT_FALSE(running->has_value());
  // A run without a summary still loads windows exactly (by scanning it).
  const int64_t t0 = ops[50].start_ns(), t1 = t0 + 3000;
  for (int64_t run : {1, 2}) {
    auto w = store->LoadOpWindow(run, t0, t1, 1 << 30);
    ASSERT_TRUE(w.ok());
    std::vector<uint64_t> got;
    for (const auto& e : w->ops) got.push_back(e.op_id());
    EXPECT_EQ(got, IdsMeeting(ops, t0, t1)) << "run " << run;
  }
}

}  // namespace
}  // namespace paci::store
