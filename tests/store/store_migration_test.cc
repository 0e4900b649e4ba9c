// The recorded stores in traces/ (schema version 2) open after migration to the current version
// with every run, op and metric intact, and gain the version-3 configuration columns, filled from
// each run's spec and `paci train` description. The recorded files themselves are never touched,
// and a read-only open reads them through a migrated private copy without writing them.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <string>

#include "store/schema.h"
#include "store/sqlite_db.h"
#include "store/trace_store.h"
#include "tests/store/sqlite_query.h"
#include "tests/store/store_test_util.h"

namespace paci::store {
namespace {

using testing::Query;
using testing::TempDir;

class TracesMigration : public ::testing::TestWithParam<std::string> {};

TEST_P(TracesMigration, OpensWithItsRunsAndGainsConfigColumns) {
  TempDir dir;
  const std::string recorded = std::string(PACI_TRACES_DIR) + "/" + GetParam();
  const std::string path = dir.File(GetParam());
  std::filesystem::copy_file(recorded, path);
  const std::string before = testing::ReadBytes(recorded);
  const int64_t version = Query(path, "PRAGMA user_version");
  ASSERT_LT(version, kSchemaVersion) << "re-record the traces only together with this test";
  const int64_t runs = Query(path, "SELECT count(*) FROM runs");
  const int64_t ops = Query(path, "SELECT count(*) FROM ops");

  // A read-only open reads a migrated private copy in $TMPDIR: every run is there, the file is
  // byte-identical and still at its old version, and the copy is gone with the last handle.
  const std::string tmp = dir.File("tmp");
  std::filesystem::create_directory(tmp);
  setenv("TMPDIR", tmp.c_str(), 1);
  {
    auto reader = TraceStore::Open(path, OpenOptions{.create_if_missing = false, .read_only = true});
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    auto listed = reader->ListRuns();
    ASSERT_TRUE(listed.ok()) << listed.status().ToString();
    EXPECT_EQ(static_cast<int64_t>(listed->size()), runs);
    auto second = reader->Reopen();
    ASSERT_TRUE(second.ok()) << second.status().ToString();
    ASSERT_TRUE(second->LoadRun(listed->front().id).ok());
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(tmp), {}), 1) << "one shared copy";
    EXPECT_EQ(testing::ReadBytes(path), before);
    EXPECT_EQ(Query(path, "PRAGMA user_version"), version);
  }
  EXPECT_TRUE(std::filesystem::is_empty(tmp)) << "the private copy outlived its readers";
  unsetenv("TMPDIR");

  auto store = TraceStore::Open(path, OpenOptions{.create_if_missing = false});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(Query(path, "PRAGMA user_version"), kSchemaVersion);
  EXPECT_EQ(Query(path, "SELECT count(*) FROM runs"), runs);
  EXPECT_EQ(Query(path, "SELECT count(*) FROM ops"), ops);
  auto list = store->ListRuns();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(static_cast<int64_t>(list->size()), runs);
  for (const RunRecord& r : *list) {
    auto run = store->LoadRun(r.id);
    ASSERT_TRUE(run.ok()) << run.status().ToString();
    EXPECT_EQ(static_cast<int64_t>(run->ops.size()), r.op_count);
    EXPECT_EQ(r.op_storage, OpStorage::kStored);
    // Version 4: the level-of-detail summary of every finished run, busy totals as its op rows.
    auto tiles = store->LoadOpTiles(r.id);
    ASSERT_TRUE(tiles.ok() && tiles->has_value()) << "run " << r.id;
    int64_t tile_ops = 0;
    for (const OpTile& t : (*tiles)->tiles) tile_ops += t.ops;
    EXPECT_EQ(tile_ops, r.op_count);
    const std::string run_key = std::to_string(r.id);
    EXPECT_EQ(Query(path, "SELECT sum(busy_ns) FROM op_tiles WHERE run = " + run_key),
              Query(path, "SELECT sum(end_ns - start_ns) FROM ops WHERE run = " + run_key));
    const RunConfig& c = r.info.config;
    EXPECT_FALSE(c.schedule.empty()) << "run " << r.id;
    EXPECT_EQ(c.stages, 2) << "run " << r.id;
    EXPECT_EQ(c.accum, 4) << "run " << r.id;
    // Every recorded run was trained (or predicted from training) with these settings.
    ASSERT_TRUE(c.lr.has_value()) << "run " << r.id;
    EXPECT_NEAR(*c.lr, 1e-3, 1e-9);
    EXPECT_EQ(c.seed, 1337);
    EXPECT_EQ(c.microbatch_size, 8);
    EXPECT_EQ(c.tokens_per_update, 8 * 4 * 64);
    EXPECT_EQ(c.device, r.info.kind == RunKind::kPredicted ? "simulator" : "");
  }
  EXPECT_EQ(testing::ReadBytes(recorded), before);
}

INSTANTIATE_TEST_SUITE_P(Traces, TracesMigration,
                         ::testing::Values("paci-vs-flush-p2.db", "flush-baselines-p2.db"),
                         [](const auto& info) {
                           std::string name = info.param.substr(0, info.param.find('.'));
                           for (char& ch : name)
                             if (ch == '-') ch = '_';
                           return name;
                         });

}  // namespace
}  // namespace paci::store
