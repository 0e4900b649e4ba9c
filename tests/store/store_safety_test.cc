// What a user running one writer process per pipeline rank relies on: writers and a reader share
// one file without losing events; a writer killed with SIGKILL leaves a sound file holding every
// batch it committed, and its run shows as incomplete; a file that is not a paci store, or whose
// schema is newer, is refused with the file named and left byte-identical.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <random>
#include <thread>

#include "store/schema.h"
#include "store/trace_store.h"
#include "tests/store/sqlite_query.h"
#include "tests/store/store_test_util.h"

namespace paci::store {
namespace {

using testing::GpipeInfo;
using testing::GpipeRun;
using testing::ReadBytes;
using testing::TempDir;
using testing::WriteBytes;

constexpr int kWriters = 4;
constexpr int kRunsPerWriter = 3;
constexpr uint32_t kStages = 4;
constexpr uint64_t kMicroBatches = 64;

// Child body: opens the (maybe not yet created) store itself and writes its runs in small
// batches. Returns the exit status for _exit; no gtest macros in a child.
int WriterChild(const std::string& path, int writer) {
  auto store = TraceStore::Open(path);
  if (!store.ok()) {
    fprintf(stderr, "writer %d: %s\n", writer, store.status().ToString().c_str());
    return 10;
  }
  for (int r = 0; r < kRunsPerWriter; ++r) {
    RunInfo info = GpipeInfo(kStages, kMicroBatches);
    info.name = "writer " + std::to_string(writer);
    auto run = store->BeginRun(info, WriterOptions{.batch_events = 50});
    if (!run.ok()) return 11;
    for (const auto& e : GpipeRun(kStages, kMicroBatches)) run->OnOp(e);
    Status st = run->Finish(RunStatus::kComplete);
    if (!st.ok()) {
      fprintf(stderr, "writer %d: %s\n", writer, st.ToString().c_str());
      return 12;
    }
  }
  return 0;
}

Status IntegrityCheck(const std::string& path, std::string* result) {
  auto db = SqliteDb::Open(path, SQLITE_OPEN_READONLY);
  if (!db.ok()) return db.status();
  auto stmt = SqliteStmt::Prepare(*db, "PRAGMA integrity_check");
  if (!stmt.ok()) return stmt.status();
  bool row = false;
  PACI_RETURN_IF_ERROR(stmt->Step(&row));
  *result = row ? stmt->Text(0) : "";
  return Status::Ok();
}

TEST(StoreConcurrency, FourWriterProcessesAndAPollingReaderLoseNothing) {
  TempDir dir;
  const std::string path = dir.File("paci.db");
  std::vector<pid_t> children;
  for (int w = 0; w < kWriters; ++w) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) _exit(WriterChild(path, w));
    children.push_back(pid);
  }
  // Poll as the viewer would until every child has exited; every read must succeed and a run's
  // op count must only grow.
  std::map<int64_t, int64_t> seen;
  int polls = 0, running = kWriters;
  while (running > 0) {
    for (pid_t& pid : children) {
      int status = 0;
      if (pid > 0 && waitpid(pid, &status, WNOHANG) == pid) {
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "writer exit " << status;
        pid = -1;
        --running;
      }
    }
    if (!std::filesystem::exists(path) || std::filesystem::file_size(path) == 0) continue;
    // A non-empty file already holds the tables: they are committed before the file grows.
    auto store = TraceStore::Open(path, OpenOptions{.create_if_missing = false});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto runs = store->ListRuns();
    ASSERT_TRUE(runs.ok()) << runs.status().ToString();
    for (const RunRecord& r : *runs) {
      EXPECT_GE(r.op_count, seen[r.id]) << "run " << r.id << " lost ops";
      seen[r.id] = r.op_count;
    }
    ++polls;
  }
  EXPECT_GT(polls, 0);

  auto store = TraceStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto runs = store->ListRuns();
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), static_cast<size_t>(kWriters * kRunsPerWriter));
  const auto want = GpipeRun(kStages, kMicroBatches);
  std::map<std::string, int> per_writer;
  for (const RunRecord& r : *runs) {
    EXPECT_EQ(r.status, RunStatus::kComplete);
    ++per_writer[r.info.name];
    auto run = store->LoadRun(r.id);
    ASSERT_TRUE(run.ok());
    ASSERT_EQ(run->ops.size(), want.size()) << "run " << r.id;
    for (size_t i = 0; i < want.size(); ++i)
      ASSERT_EQ(run->ops[i].SerializeAsString(), want[i].SerializeAsString()) << "run " << r.id;
  }
  EXPECT_EQ(per_writer.size(), static_cast<size_t>(kWriters));
  for (const auto& [name, n] : per_writer) EXPECT_EQ(n, kRunsPerWriter) << name;
}

TEST(StoreCrash, SigkillKeepsCommittedBatchesAndRunShowsIncomplete) {
  TempDir dir;
  const std::string path = dir.File("paci.db");
  constexpr size_t kBatch = 100;
  {
    auto store = TraceStore::Open(path);  // created before the child so the reader can poll
    ASSERT_TRUE(store.ok());
  }
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto store = TraceStore::Open(path);
    if (!store.ok()) _exit(10);
    auto run = store->BeginRun(GpipeInfo(2, 2, RunKind::kMeasured),
                               WriterOptions{.batch_events = kBatch, .max_delay = std::chrono::hours(1)});
    if (!run.ok()) _exit(11);
    for (uint64_t id = 0;; ++id) {
      run->OnOp(testing::Event(id, id % 2, 0, id / 4 + 1, ir::FORWARD, id * 10, id * 10 + 9, 0, id));
    }
  }
  auto store = TraceStore::Open(path, OpenOptions{.create_if_missing = false});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  int64_t committed = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (committed < 20 * static_cast<int64_t>(kBatch) && std::chrono::steady_clock::now() < deadline) {
    auto runs = store->ListRuns();
    ASSERT_TRUE(runs.ok()) << runs.status().ToString();
    if (!runs->empty()) committed = runs->front().op_count;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  ASSERT_GE(committed, 20 * static_cast<int64_t>(kBatch)) << "child too slow to commit batches";

  std::string integrity;
  ASSERT_TRUE(IntegrityCheck(path, &integrity).ok());
  EXPECT_EQ(integrity, "ok");
  auto runs = store->ListRuns();
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ(runs->front().state, RunState::kIncomplete);
  auto run = store->LoadRun(runs->front().id);
  ASSERT_TRUE(run.ok());
  // Every batch seen committed before the kill is there, and only whole batches are.
  EXPECT_GE(static_cast<int64_t>(run->ops.size()), committed);
  EXPECT_EQ(run->ops.size() % kBatch, 0u);
  for (size_t i = 0; i < run->ops.size(); ++i) {
    ASSERT_EQ(run->ops[i].op_id(), i);
    ASSERT_EQ(run->ops[i].start_ns(), static_cast<int64_t>(i * 10));
  }
  // The file stays writable for the next run.
  auto next = store->BeginRun(GpipeInfo(2, 2));
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_TRUE(next->Finish(RunStatus::kComplete).ok());
}

// Opening `path` must fail, name the file, and change no byte of it nor add files beside it.
void ExpectRefusedUnchanged(const std::string& path, const std::string& expect_in_message) {
  const std::string before = ReadBytes(path);
  const auto dir = std::filesystem::path(path).parent_path();
  const auto entries_before = std::distance(std::filesystem::directory_iterator(dir), {});
  for (bool read_only : {false, true}) {
    auto store = TraceStore::Open(path, OpenOptions{.read_only = read_only});
    ASSERT_FALSE(store.ok());
    EXPECT_NE(store.status().message().find(path), std::string::npos) << store.status().message();
    EXPECT_NE(store.status().message().find(expect_in_message), std::string::npos)
        << store.status().message();
  }
  EXPECT_EQ(ReadBytes(path), before) << path << " was modified";
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), entries_before);
}

// Issue 25. was: the writer's connection did not enforce foreign keys, so a run deleted under it
// went on taking rows (86,481 orphans) and the writer never noticed.
TEST(StoreConcurrency, RunDeletedUnderItsWriterStopsItWithoutOrphans) {
  TempDir dir;
  const std::string path = dir.File("paci.db");
  auto store = TraceStore::Open(path);
  ASSERT_TRUE(store.ok());
  auto run = store->BeginRun(GpipeInfo(2, 2, RunKind::kMeasured), WriterOptions{.batch_events = 10});
  ASSERT_TRUE(run.ok());
  const int64_t id = run->run_id();
  uint64_t op = 0;
  auto write_ops = [&](int n) {
    for (int i = 0; i < n; ++i, ++op)
      run->OnOp(testing::Event(op, op % 2, 0, op / 4 + 1, ir::FORWARD, op * 10, op * 10 + 9, 0, op));
  };
  write_ops(25);
  ASSERT_TRUE(run->Flush().ok());
  auto deleter = TraceStore::Open(path, OpenOptions{.create_if_missing = false});  // another command
  ASSERT_TRUE(deleter.ok());
  ASSERT_TRUE(deleter->DeleteRuns({id}).ok());
  write_ops(25);
  const Status st = run->Flush();
  EXPECT_EQ(st.code(), Status::Code::kFailedPrecondition) << st.ToString();
  EXPECT_NE(st.message().find("deleted while it was being written"), std::string::npos) << st.message();
  EXPECT_FALSE(run->Finish(RunStatus::kComplete, "").ok());
  auto runs = deleter->ListRuns();
  ASSERT_TRUE(runs.ok());
  EXPECT_TRUE(runs->empty());
  EXPECT_EQ(testing::Query(path, "SELECT count(*) FROM ops"), 0);
  EXPECT_EQ(testing::Query(path, "SELECT count(*) FROM updates"), 0);
}

TEST(StoreForeignFiles, GarbageFileIsRefusedAndLeftByteIdentical) {
  TempDir dir;
  const std::string path = dir.File("garbage.db");
  std::mt19937 rng(7);
  std::string bytes(8192, '\0');
  for (char& c : bytes) c = static_cast<char>(rng());
  WriteBytes(path, bytes);
  ExpectRefusedUnchanged(path, "not a paci trace store");
}

TEST(StoreForeignFiles, OtherSqliteDatabaseIsRefusedAndLeftByteIdentical) {
  TempDir dir;
  const std::string path = dir.File("other.db");
  {
    auto db = SqliteDb::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    ASSERT_TRUE(db->Exec("CREATE TABLE things(x); INSERT INTO things VALUES (1);").ok());
  }
  ExpectRefusedUnchanged(path, "not a paci trace store");
}

TEST(StoreForeignFiles, NewerSchemaIsRefusedAndLeftByteIdentical) {
  TempDir dir;
  const std::string path = dir.File("newer.db");
  {
    auto store = TraceStore::Open(path);
    ASSERT_TRUE(store.ok());
    auto run = store->BeginRun(GpipeInfo(2, 2));
    for (const auto& e : GpipeRun(2, 2)) run->OnOp(e);
    ASSERT_TRUE(run->Finish(RunStatus::kComplete).ok());
  }
  {
    // What a later paci would leave: a higher user_version, and the WAL folded back in.
    auto db = SqliteDb::Open(path, SQLITE_OPEN_READWRITE);
    ASSERT_TRUE(
        db->Exec(fmt::format("PRAGMA user_version = {}; PRAGMA journal_mode = DELETE;", kSchemaVersion + 1))
            .ok());
  }
  ExpectRefusedUnchanged(path, "newer");
}

TEST(StoreForeignFiles, EmptyFileBecomesAStore) {
  TempDir dir;
  const std::string path = dir.File("empty.db");
  WriteBytes(path, "");
  auto store = TraceStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_TRUE(store->ListRuns()->empty());
}

}  // namespace
}  // namespace paci::store
