// Hostile input through the `paci` binary as a careless user types it: each case exits 2 (bad
// input) with a message naming the flag, file or limit, never aborts, and leaves the store as it
// was (no new runs, no changed bytes, no -wal/-shm files beside a refused file).
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "store/chrome_trace.h"
#include "store/trace_store.h"
#include "tests/hostile/paci_cli.h"

namespace paci {
namespace {

TEST_F(HostileCli, HugeFlushSimulationIsRefusedAtOnce) {  // was: 7.6 GB in 15 s, still growing
  // One flush iteration of 10^8 micro-batches (--accum is M per update for every schedule).
  const Outcome o = Paci("simulate --schedule gpipe --stages 1 --accum 100000000 --updates 1" + Db());
  EXPECT_REFUSED(o, "kMaxStageMicroBatches");
  EXPECT_LT(o.seconds, 10);
  EXPECT_EQ(RunCount(), 0u);
}

TEST_F(HostileCli, CostFlagsBeyondTheirLimits) {  // was: UB casts, makespan 0 with exit 0
  EXPECT_REFUSED(Paci("simulate --schedule gpipe --stages 2 --fwd-ms 1e300" + Db()), "--fwd-ms");
  EXPECT_REFUSED(Paci("simulate --schedule gpipe --stages 2 --jitter 1e10" + Db()), "--jitter");
  EXPECT_REFUSED(Paci("simulate --schedule gpipe --stages 2 --fwd-ms nan" + Db()), "--fwd-ms");
  EXPECT_EQ(RunCount(), 0u);
}

TEST_F(HostileCli, FailedSimulationLeavesNoRun) {  // was: a 'failed' run left in the store
  const std::string cost = dir_.File("cost.json");
  WriteBytes(cost, R"({"stages": [{"fwd_ms": 1}], "jitter": {"cv": 1e10}})");
  EXPECT_REFUSED(Paci("simulate --schedule gpipe --stages 2 --cost " + cost + Db()), "jitter.cv");
  EXPECT_EQ(RunCount(), 0u);
}

TEST_F(HostileCli, NonFiniteLearningRateIsRefused) {  // was: trained to NaN, exit 0
  EXPECT_REFUSED(Paci("train --lr inf --updates 1 --layers 1 --dim 16 --heads 2 --seq 8"), "--lr");
}

TEST_F(HostileCli, PipelinedTrainingChecksItsFlags) {  // was: only the unpipelined path checked
  EXPECT_REFUSED(Paci("train --schedule gpipe --stages 2 --microbatch-size 0 --no-db"), "--microbatch-size");
  EXPECT_REFUSED(Paci("train --schedule paci --stages 2 --resume x.safetensors --no-db"), "--resume");
}

TEST_F(HostileCli, ImportedStageBeyondTheRunIsRefused) {  // was: accepted, then show/compare crashed
  store::RunData run;
  run.record.info.kind = store::RunKind::kMeasured;
  for (uint32_t s = 0; s < 2; ++s) {
    ir::TraceEvent& e = run.ops.emplace_back();
    e.set_op_id(s + 1);
    e.set_stage(s);
    e.set_kind(ir::FORWARD);
    e.set_micro_batch(1);
    e.set_end_ns(10);
  }
  nlohmann::json doc = nlohmann::json::parse(store::ExportChromeTrace(run));
  for (auto& ev : doc["traceEvents"])
    if (ev.value("ph", "") == "X" && ev["args"].contains("op_id")) ev["args"]["stage"] = 4294967295u;
  const std::string trace = dir_.File("trace.json");
  WriteBytes(trace, doc.dump());
  ASSERT_EQ(Paci("simulate --schedule gpipe --stages 2" + Db()).code, 0);
  const std::string before = ReadBytes(db_);
  EXPECT_REFUSED(Paci("import " + trace + Db()), "stage 4294967295");
  EXPECT_EQ(RunCount(), 1u);
  EXPECT_EQ(ReadBytes(db_), before);
}

TEST_F(HostileCli, PredictValidatesTheStoredSchedule) {  // was: heap overflow / garbage, exit 0
  {
    Result<store::TraceStore> s = store::TraceStore::Open(db_);
    ASSERT_TRUE(s.ok());
    store::RunInfo info;
    info.kind = store::RunKind::kMeasured;
    ir::Schedule& bad = info.schedule.emplace();
    bad.set_ir_version(1);
    bad.mutable_spec()->set_kind(ir::GPIPE);
    bad.mutable_spec()->set_stages(1);
    bad.mutable_spec()->set_microbatches_per_iteration(1);
    ir::StageStream* stream = bad.add_streams();
    stream->set_weight_policy(ir::SYNC_AFTER_FLUSH);
    ir::Op* op = stream->add_prefix();
    op->set_kind(ir::FORWARD);
    op->set_stage(9);  // beyond the one stage: the simulator would index past its tables
    op->set_micro_batch(1);
    info.spec = bad.spec();
    Result<store::RunWriter> w = s->BeginRun(info);
    ASSERT_TRUE(w.ok());
    ir::TraceEvent e;
    e.set_op_id(1);
    e.set_kind(ir::FORWARD);
    e.set_micro_batch(1);
    e.set_end_ns(1000);
    w->OnOp(e);
    ASSERT_TRUE(w->Finish(store::RunStatus::kComplete).ok());
  }
  EXPECT_REFUSED(Paci("predict --run 1" + Db()), "stored schedule");
  EXPECT_EQ(RunCount(), 1u);
}

TEST_F(HostileCli, ForeignWalDatabaseGainsNoFiles) {  // was: -wal and -shm created beside it
  const std::string foreign = dir_.File("other.db");
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(foreign.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "PRAGMA journal_mode=WAL; CREATE TABLE t(x); INSERT INTO t VALUES(1);",
                         nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(raw);
  ASSERT_FALSE(std::filesystem::exists(foreign + "-wal"));
  const std::string before = ReadBytes(foreign);
  EXPECT_REFUSED(Paci("runs list --db " + foreign), "not a paci trace store");
  EXPECT_REFUSED(Paci("simulate --schedule gpipe --stages 2 --db " + foreign), "not a paci trace store");
  EXPECT_FALSE(std::filesystem::exists(foreign + "-wal"));
  EXPECT_FALSE(std::filesystem::exists(foreign + "-shm"));
  EXPECT_EQ(ReadBytes(foreign), before);
}

TEST_F(HostileCli, StoreInAReadOnlyDirectoryCanBeListed) {  // was: "unable to open database file"
  const std::string sub = dir_.File("ro");
  std::filesystem::create_directory(sub);
  db_ = sub + "/paci.db";
  ASSERT_EQ(Paci("simulate --schedule gpipe --stages 2" + Db()).code, 0);
  ASSERT_EQ(chmod(sub.c_str(), 0555), 0);
  // root writes anywhere: drop to nobody for the listing when the test runs as root.
  std::string prefix;
  if (geteuid() == 0) {
    if (system("command -v setpriv >/dev/null") != 0) GTEST_SKIP() << "root without setpriv";
    ASSERT_EQ(chmod(dir_.File("").c_str(), 0755), 0);
    prefix = "setpriv --reuid=65534 --regid=65534 --clear-groups ";
  }
  const Outcome list = Paci("runs list" + Db(), prefix);
  EXPECT_EQ(list.code, 0) << list.err;
  EXPECT_NE(list.out.find("gpipe"), std::string::npos) << list.out;
  EXPECT_EQ(Paci("runs show 1" + Db(), prefix).code, 0);
  chmod(sub.c_str(), 0755);
}

TEST_F(HostileCli, DamagedStoreTakesNoWrites) {  // was: writes accepted beside corrupted pages
  for (int i = 0; i < 3; ++i) ASSERT_EQ(Paci("simulate --schedule gpipe --stages 4 --microbatches 64" + Db()).code, 0);
  std::string bytes = ReadBytes(db_);
  ASSERT_GT(bytes.size(), 4u * 4096);
  for (size_t i = 2 * 4096 + 16; i < 3 * 4096; ++i) bytes[i] = '\x5a';  // page 3, past its header
  WriteBytes(db_, bytes);
  const Outcome o = Paci("simulate --schedule gpipe --stages 2" + Db());
  EXPECT_NE(o.code, 0);
  EXPECT_NE(o.err.find("damaged"), std::string::npos) << o.err;
  EXPECT_EQ(ReadBytes(db_), bytes);
}

}  // namespace
}  // namespace paci
