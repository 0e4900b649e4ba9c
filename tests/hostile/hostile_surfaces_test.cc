// Issue 25: the newer surfaces (study and its report, profile, model/hardware/link files, train
// flags and checkpoints, sweep --loss-curves) keep the contract. Each case reproduces a crash,
// hang, wrong exit code or silent acceptance found by hand, through the real `paci` binary, and
// checks the refusal that replaced it: exit 2, a message naming the flag, file or limit, quickly.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/hostile/paci_cli.h"

namespace paci {
namespace {

// A tiny model, so the few cases that do train finish in a second or two.
const std::string kModel = " --layers 2 --dim 32 --heads 4 --seq 16 --microbatch-size 2 --eval-batches 1";

class HostileSurfaces : public HostileCli {
 protected:
  // A study store with no runs in it: `simulate` creates one.
  void MakeStore() { ASSERT_EQ(Paci("simulate --schedule gpipe --stages 2" + Db()).code, 0); }
  // Exit 2 naming `what`, within `seconds`, and no point trained (no log written).
  void ExpectStudyRefused(const std::string& args, const std::string& what, double seconds = 20) {
    const Outcome o = Paci("study " + args + kModel + " --updates 2" + Db());
    EXPECT_REFUSED(o, what);
    EXPECT_LT(o.seconds, seconds) << args;
    EXPECT_EQ(RunCount(), 0u) << args;
    const std::string logs = db_ + ".logs";
    if (std::filesystem::exists(logs)) {
      EXPECT_TRUE(std::filesystem::is_empty(logs)) << args;
    }
  }
};

TEST_F(HostileSurfaces, StudyDividesOnlyByCheckedNumbers) {  // was: SIGFPE (exit 136) for both
  ExpectStudyRefused("--stages 0", "--stages");
  ExpectStudyRefused("--stages 4 --jobs 1073741824", "--jobs");
}

TEST_F(HostileSurfaces, StudyGridIsBounded) {  // was: looped forever, memory growing
  ExpectStudyRefused("--seeds 4294967295", "kMaxStudyPoints", 10);
  ExpectStudyRefused("--accum 2,4 --lr 1e-3,2e-3 --seeds 30000", "--schedules x --accum x --lr x --seeds",
                     10);
}

TEST_F(HostileSurfaces, StudyRefusesBadPointsItself) {  // was: exit 1, each child failing alone
  ExpectStudyRefused("--accum 0", "--accum");
  for (const char* lr : {"0", "-1", "inf", "nan"}) ExpectStudyRefused(std::string("--lr ") + lr, "--lr");
  ExpectStudyRefused("--stages 5000", "--stages");
  const Outcome o = Paci("study --layers 0 --dim 32 --heads 4 --seq 16 --updates 2" + Db());
  EXPECT_REFUSED(o, "--layers");
  ExpectStudyRefused("--schedules paci --drift-lr-scale inf", "--drift-lr-scale");
}

TEST_F(HostileSurfaces, StudyGridValuesAreDistinct) {  // was: trained twice, pooled as "seeds=2"
  ExpectStudyRefused("--accum 2,2", "--accum: 2 is given twice");
  ExpectStudyRefused("--lr 1e-3,0.001", "--lr");
  ExpectStudyRefused("--schedules paci,paci", "--schedules");
}

TEST_F(HostileSurfaces, FilesWhereFoldersBelongNameTheFlag) {  // was: "internal error: filesystem error"
  const std::string file = dir_.File("a-file");
  WriteBytes(file, "x");
  ExpectStudyRefused("--log-dir " + file, "--log-dir");
  MakeStore();
  EXPECT_REFUSED(Paci("study report --out " + file + Db()), "--out");
}

TEST_F(HostileSurfaces,
       StudyReportTargetLossIsFiniteAndPositive) {  // was: nan skipped tta.csv, inf "reached"
  MakeStore();
  for (const char* t : {"nan", "inf", "-1", "1e9"})
    EXPECT_REFUSED(Paci("study report --out " + dir_.File("r") + " --target-loss " + t + Db()),
                   "--target-loss");
}

TEST_F(HostileSurfaces, SweepLossCurvesTargetIsFiniteAndPositive) {  // was: inf and -1 accepted
  MakeStore();
  for (const char* t : {"inf", "-1", "0"})
    EXPECT_REFUSED(Paci("sweep --loss-curves " + db_ + " --target-loss " + t + " --fwd-ms 1 --no-db"),
                   "--target-loss");
  EXPECT_REFUSED(Paci("sweep --loss-curves " + db_ + " --target-loss 3 --tta-updates 0 --fwd-ms 1 --no-db"),
                 "--tta-updates");
  // was: ignored (the ranking predicts the steady state, whatever the run length asked)
  EXPECT_REFUSED(Paci("sweep --loss-curves " + db_ + " --target-loss 3 --tta-updates 8 --fwd-ms 1 --no-db"),
                 "--tta-updates: does not apply with --loss-curves");
}

TEST_F(HostileSurfaces, ColocationTimeIsFiniteAndBounded) {  // was: nan and 1e308 never finished
  for (const char* s : {"nan", "1e308", "-1", "0"}) {
    const Outcome o = Paci("profile --layers 1 --dim 16 --heads 2 --seq 8 --colocate 2 --colocate-seconds " +
                           std::string(s) + " -o " + dir_.File("p.json"));
    EXPECT_REFUSED(o, "--colocate-seconds");
    EXPECT_LT(o.seconds, 10) << s;
  }
  EXPECT_REFUSED(
      Paci("profile --layers 1 --dim 16 --heads 2 --seq 8 --colocate 100000 -o " + dir_.File("p.json")),
      "kMaxColocated");
}

TEST_F(HostileSurfaces, PartitionerWorkIsBounded) {  // was: minutes inside the documented layer limit
  const Outcome o =
      Paci("simulate --schedule gpipe --stages 2 --model gpt2 --layers 1048576 --hardware h100 --no-db");
  EXPECT_REFUSED(o, "kMaxPartitionSteps");
  EXPECT_LT(o.seconds, 10);
}

TEST_F(HostileSurfaces, DescriptionFileTypeErrorsNameFileAndField) {  // was: "internal error" (exit 1)
  const std::string hw = dir_.File("hw.json"), model = dir_.File("model.json"), link = dir_.File("link.json");
  const std::string sim = "simulate --schedule gpipe --stages 2 --no-db ";
  WriteBytes(hw, R"({"name": 5, "peak_tflops_fp32": 100, "memory_bandwidth_gbs": 1000})");
  EXPECT_REFUSED(Paci(sim + "--model gpt2 --hardware " + hw), hw + ": name");
  WriteBytes(model, R"({"layers": 2, "dim": 64, "heads": 4, "tie": "yes"})");
  EXPECT_REFUSED(Paci(sim + "--model " + model + " --hardware h100"), model + ": tie");
  WriteBytes(link, R"({"name": [1], "bandwidth_gbs": 100})");
  EXPECT_REFUSED(Paci(sim + "--model gpt2 --hardware h100 --link " + link), link + ": name");
}

TEST_F(HostileSurfaces, HardwareNumbersStayInRange) {  // was: 1e308 TFLOP/s gave zero compute, bubble 1
  const std::string hw = dir_.File("hw.json");
  WriteBytes(hw, R"({"peak_tflops_fp32": 1e308, "memory_bandwidth_gbs": 1000})");
  EXPECT_REFUSED(Paci("simulate --schedule gpipe --stages 2 --no-db --model gpt2 --hardware " + hw),
                 "peak_tflops_fp32");
}

TEST_F(HostileSurfaces, NonRegularFilesAreRefusedUnread) {  // was: read /dev/zero until out of memory
  const Outcome data = Paci("train" + kModel + " --updates 1 --data /dev/zero");
  EXPECT_REFUSED(data, "not a regular file");
  EXPECT_REFUSED(Paci("train" + kModel + " --updates 1 --resume /dev/zero"), "not a regular file");
  EXPECT_REFUSED(Paci("profile --show /dev/zero"), "not a regular file");
  EXPECT_REFUSED(Paci("simulate --schedule gpipe --stages 2 --no-db --model gpt2 --hardware /dev/zero"),
                 "not a regular file");
}

TEST_F(HostileSurfaces, DriftLrScaleIsFiniteAndBounded) {  // was: inf stored NaN curves as complete
  for (const char* a : {"inf", "nan", "1e9"})
    EXPECT_REFUSED(
        Paci("train" + kModel + " --schedule paci --stages 2 --accum 2 --updates 2 --drift-lr-scale " +
             std::string(a) + Db()),
        "--drift-lr-scale");
  EXPECT_EQ(RunCount(), 0u);
}

TEST_F(HostileSurfaces, CheckpointWithANaNWeightIsRefusedOnBothPaths) {  // was: pipelined trained on NaN
  const std::string ck = dir_.File("ck.safetensors");
  ASSERT_EQ(Paci("train" + kModel + " --updates 1 --save " + ck).code, 0);
  std::string bytes = ReadBytes(ck);
  uint64_t hlen = 0;
  std::memcpy(&hlen, bytes.data(), 8);
  const float nan = std::nanf("");
  std::memcpy(&bytes[8 + hlen], &nan, sizeof(nan));  // the first value of the tensor at offset 0
  WriteBytes(ck, bytes);
  EXPECT_REFUSED(
      Paci("train" + kModel + " --schedule paci --stages 2 --accum 2 --updates 3 --resume " + ck + Db()),
      "non-finite");
  EXPECT_REFUSED(Paci("train" + kModel + " --updates 3 --resume " + ck), "non-finite");
  EXPECT_EQ(RunCount(), 0u);
}

// was: weights of one checkpoint resumed with the optimizer state of another, without a word.
TEST_F(HostileSurfaces, MixedCheckpointFilesAreRefusedOnBothPaths) {
  const std::string a = dir_.File("a.safetensors"), b = dir_.File("b.safetensors");
  ASSERT_EQ(Paci("train" + kModel + " --updates 1 --save " + a).code, 0);
  ASSERT_EQ(Paci("train" + kModel + " --updates 2 --save " + b).code, 0);
  WriteBytes(dir_.File("a.optim.safetensors"), ReadBytes(dir_.File("b.optim.safetensors")));
  EXPECT_REFUSED(
      Paci("train" + kModel + " --schedule paci --stages 2 --accum 2 --updates 3 --resume " + a + Db()),
      "optimizer state of another checkpoint");
  EXPECT_REFUSED(Paci("train" + kModel + " --updates 3 --resume " + a), "a.optim.safetensors");
  EXPECT_EQ(RunCount(), 0u);
  EXPECT_EQ(Paci("train" + kModel + " --updates 3 --resume " + b).code, 0);  // one --save's pair resumes
}

TEST_F(HostileSurfaces, TypedZerosAreNotTheDefault) {  // was: 0 silently meant "the default"
  const std::string sim = "simulate --schedule gpipe --stages 2 --no-db ";
  EXPECT_REFUSED(Paci(sim + "--accum 0"), "--accum");
  EXPECT_REFUSED(Paci(sim + "--updates 0"), "--updates");
  EXPECT_REFUSED(Paci(sim + "--microbatches 0"), "--microbatches");
  EXPECT_REFUSED(Paci(sim + "--model gpt2 --hardware h100 --microbatch-size 0"), "--microbatch-size");
  EXPECT_REFUSED(Paci("train" + kModel + " --updates 0"), "--updates");
}

TEST_F(HostileSurfaces,
       RunLengthProductsDoNotWrap) {  // was: 2^62 x 4 wrapped to 0: a default-length run, exit 0
  EXPECT_REFUSED(Paci("simulate --schedule paci --stages 2 --accum 4 --updates 4611686018427387904 --no-db"),
                 "--updates");
}

TEST_F(HostileSurfaces, PredictNeedsACompleteRun) {  // was: fitted to a failed run's partial ops, exit 0
  {
    Result<store::TraceStore> s = store::TraceStore::Open(db_);
    ASSERT_TRUE(s.ok());
    store::RunInfo info;
    info.kind = store::RunKind::kMeasured;
    Result<store::RunWriter> w = s->BeginRun(info);
    ASSERT_TRUE(w.ok()) << w.status().message();
    ASSERT_TRUE(w->Finish(store::RunStatus::kFailed, "killed").ok());
  }
  EXPECT_REFUSED(Paci("predict --run 1" + Db()), "run 1 is failed (killed)");
  EXPECT_REFUSED(Paci("predict --run 1 --from-run -1" + Db()), "--from-run");
  EXPECT_EQ(RunCount(), 1u);
}

TEST_F(HostileSurfaces,
       PredictFromAnotherModelIsRefused) {  // was: 3-layer costs predicted a 2-layer run, exit 0
  const std::string train = " --schedule paci --stages 2 --accum 2 --updates 2" + Db();
  ASSERT_EQ(Paci("train" + kModel + train).code, 0);
  const std::string three_layers =
      " --layers 3 --dim 32 --heads 4 --seq 16 --microbatch-size 2 --eval-batches 1";
  ASSERT_EQ(Paci("train" + three_layers + train).code, 0);
  ASSERT_EQ(Paci("train" + kModel + " --seed 5" + train).code, 0);
  EXPECT_REFUSED(Paci("predict --run 1 --from-run 2" + Db()), "--from-run: run 2 trained {layers: 3");
  EXPECT_EQ(RunCount(), 3u);
  EXPECT_EQ(Paci("predict --run 1 --from-run 3" + Db()).code, 0);  // same model, another seed
}

TEST_F(HostileSurfaces, AnEmptyFileIsNoStoreForReaders) {  // was: report wrote a schema into it, exit 0
  WriteBytes(db_, "");
  EXPECT_REFUSED(Paci("study report --out " + dir_.File("r") + Db()), "an empty file");
  EXPECT_REFUSED(Paci("runs list" + Db()), "an empty file");  // was: exit 1, "no such table: runs"
  EXPECT_EQ(ReadBytes(db_), "");
}

TEST_F(HostileSurfaces, RunsDeleteIsAllOrNothing) {  // was: deleted run 3, then exit 2 on 999
  for (int i = 0; i < 2; ++i) MakeStore();
  const std::string before = ReadBytes(db_);
  EXPECT_REFUSED(Paci("runs delete 1 999" + Db()), "999");
  EXPECT_EQ(RunCount(), 2u);
  EXPECT_EQ(ReadBytes(db_), before);
  EXPECT_EQ(Paci("runs delete 1 2" + Db()).code, 0);
  EXPECT_EQ(RunCount(), 0u);
}

TEST_F(HostileSurfaces, InterruptedTrainingIsStoredFailed) {  // was: 'running' forever
  for (int sig : {SIGTERM, SIGINT}) {
    db_ = dir_.File("interrupted-" + std::to_string(sig) + ".db");
    const std::string cmd = std::string(PACI_BINARY) + " train" + kModel +
                            " --schedule paci --stages 2 --accum 2 --updates 1000000" + Db() +
                            " >/dev/null 2>&1";
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    struct Reaper {  // a failed assertion below must not leave a million updates training
      pid_t pid;
      ~Reaper() {
        if (kill(pid, SIGKILL) == 0) waitpid(pid, nullptr, 0);
      }
    } reaper{pid};
    for (int i = 0; i < 600 && RunCount() == 0; ++i) usleep(50'000);  // until the run is stored
    ASSERT_EQ(RunCount(), 1u) << "the run never appeared";
    usleep(300'000);  // into training
    ASSERT_EQ(kill(pid, sig), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == sig) << "status " << status;
    Result<store::TraceStore> s =
        store::TraceStore::Open(db_, {.create_if_missing = false, .read_only = true});
    ASSERT_TRUE(s.ok());
    const std::vector<store::RunRecord> runs = *s->ListRuns();
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].status, store::RunStatus::kFailed) << sig;
    EXPECT_NE(runs[0].message.find("interrupted"), std::string::npos) << runs[0].message;
  }
}

// Issue 25 item 10. was: each of these migrated the older store in place, so reading traces/*.db
// dirtied the tree. Now the file stays byte-identical and no -wal is left holding a migration.
TEST_F(HostileSurfaces, ReadOnlyCommandsLeaveAnOlderStoreUnchanged) {
  std::filesystem::copy_file(std::string(PACI_TRACES_DIR) + "/paci-vs-flush-p2.db", db_);
  const std::string before = ReadBytes(db_);
  for (const char* command :
       {"runs list", "runs show 1", "summary 1 2", "compare 2 1", "export --run 1 -o /dev/null"}) {
    const Outcome o = Paci(std::string(command) + Db());
    EXPECT_EQ(o.code, 0) << command << ": " << o.err;
    EXPECT_NE(o.err.find("migrated private copy"), std::string::npos) << command << ": " << o.err;
    EXPECT_EQ(ReadBytes(db_), before) << command;
    EXPECT_EQ(ReadBytes(db_ + "-wal"), "") << command;
  }
}

// was: SIGTERM ended the study and left its children training, their runs 'running'.
TEST_F(HostileSurfaces, StudySignalReachesItsChildren) {
  const std::string cmd = std::string(PACI_BINARY) +
                          " study --schedules paci --stages 2 --accum 2 --seeds 2 " +
                          "--jobs 2 --updates 1000000" + kModel + Db() + " >/dev/null 2>&1";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  struct Reaper {  // a failed assertion must not leave a study training
    pid_t pid;
    ~Reaper() {
      if (kill(pid, SIGKILL) == 0) waitpid(pid, nullptr, 0);
    }
  } reaper{pid};
  for (int i = 0; i < 600 && RunCount() < 2; ++i) usleep(50'000);  // both children stored their runs
  ASSERT_EQ(RunCount(), 2u) << "the runs never appeared";
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);  // the study waits for its children before it ends
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << "status " << status;
  Result<store::TraceStore> s = store::TraceStore::Open(db_, {.create_if_missing = false, .read_only = true});
  ASSERT_TRUE(s.ok());
  const std::vector<store::RunRecord> runs = *s->ListRuns();  // a copy: the Result is a temporary
  ASSERT_EQ(runs.size(), 2u);
  for (const store::RunRecord& r : runs) {
    EXPECT_EQ(r.status, store::RunStatus::kFailed) << r.id;
    EXPECT_NE(r.message.find("interrupted (SIGTERM)"), std::string::npos) << "message: " << r.message;
  }
}

}  // namespace
}  // namespace paci
