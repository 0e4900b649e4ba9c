// Issue 25, the cases that need processes side by side: a run deleted under its trainer, a paused
// run, two studies on one store, a re-run beside an orphaned child, a point's identity with
// --grad-clip and --chunks, repeated seeds in a report, and a profile too big for the machine.
// Each runs the real `paci` binary on real stores; each failed before its fix.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "tests/address_sanitizer.h"
#include "tests/hostile/paci_cli.h"

namespace paci {
namespace {

const std::string kModel = " --layers 2 --dim 32 --heads 4 --seq 16 --microbatch-size 2 --eval-batches 1";

// A `paci ARGS` started in the background (stdout and stderr to `log`), killed if still running
// when this goes out of scope, so a failed assertion never leaves it training.
class Background {
 public:
  Background(const std::string& args, const std::string& log) {
    const std::string cmd = "exec " + std::string(PACI_BINARY) + " " + args + " >" + log + " 2>&1";
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);  // its own group: Kill() also reaches a study's children
      execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  ~Background() {
    if (pid_ > 0 && kill(-pid_, SIGKILL) == 0) waitpid(pid_, nullptr, 0);
  }
  pid_t pid() const { return pid_; }
  // The exit code (128 + signal when killed), waiting at most `seconds`; -1 if still running.
  int Wait(double seconds) {
    for (int i = 0; i < seconds * 20; ++i) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      usleep(50'000);
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
};

class HostileConcurrency : public HostileCli {
 protected:
  std::vector<store::RunRecord> Runs() {
    Result<store::TraceStore> s =
        store::TraceStore::Open(db_, {.create_if_missing = false, .read_only = true});
    if (!s.ok()) return {};
    Result<std::vector<store::RunRecord>> runs = s->ListRuns();
    return runs.ok() ? *runs : std::vector<store::RunRecord>{};
  }
  // Polls until `n` runs are stored (or `seconds` pass).
  bool WaitForRuns(size_t n, double seconds = 60) {
    for (int i = 0; i < seconds * 20; ++i) {
      if (RunCount() >= n) return true;
      usleep(50'000);
    }
    return false;
  }
  size_t CountState(store::RunState state) {
    size_t n = 0;
    for (const store::RunRecord& r : Runs()) n += r.state == state;
    return n;
  }
};

// Item 1. was: the writer failed its batches, but `paci train` trained all its updates and
// reported the deletion only at the end (here: a million updates, so never).
TEST_F(HostileConcurrency, RunDeletedUnderItsTrainerStopsIt) {
  const std::string log = dir_.File("train.log");
  Background train("train" + kModel + " --schedule paci --stages 2 --accum 2 --updates 1000000" + Db(), log);
  ASSERT_TRUE(WaitForRuns(1)) << ReadBytes(log);
  usleep(500'000);  // into training
  ASSERT_EQ(Paci("runs delete 1" + Db()).code, 0);
  const auto t0 = std::chrono::steady_clock::now();
  const int code = train.Wait(30);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(code, 1) << ReadBytes(log);
  EXPECT_LT(seconds, 10) << "it trained on after its run was deleted";
  EXPECT_NE(ReadBytes(log).find("run 1 was deleted while it was being written"), std::string::npos)
      << ReadBytes(log);
  EXPECT_EQ(RunCount(), 0u);  // nothing marked or recreated
  const Outcome fk = Paci("runs list" + Db());
  EXPECT_EQ(fk.code, 0) << fk.err;
}

// Item 2. was: SIGSTOP for longer than the receive timeout, then SIGCONT: "stage N waited 1000 ms
// for ...; the peer is dead or stuck", exit 1.
TEST_F(HostileConcurrency, APausedRunIsNotDeclaredDead) {
  const std::string log = dir_.File("train.log");
  Background train(
      "train" + kModel + " --schedule paci --stages 2 --accum 2 --updates 4000 --recv-timeout 1" + Db(), log);
  ASSERT_TRUE(WaitForRuns(1)) << ReadBytes(log);
  for (int pause = 0; pause < 2; ++pause) {
    usleep(300'000);
    ASSERT_EQ(kill(train.pid(), SIGSTOP), 0);
    sleep(3);  // three receive timeouts
    ASSERT_EQ(kill(train.pid(), SIGCONT), 0);
  }
  EXPECT_EQ(train.Wait(300), 0) << ReadBytes(log);
  ASSERT_EQ(Runs().size(), 1u);
  EXPECT_EQ(Runs()[0].status, store::RunStatus::kComplete) << Runs()[0].message;
}

// Item 4. was: the identity ignored --grad-clip and --chunks, so a re-run with either skipped the
// point as "already in" the store.
TEST_F(HostileConcurrency, GradClipAndChunksArePartOfAPoint) {
  const std::string grid =
      "study --schedules interleaved-1f1b --stages 2 --accum 4 --updates 2" + kModel + Db();
  const Outcome first = Paci(grid);
  ASSERT_EQ(first.code, 0) << first.err;
  EXPECT_NE(Paci(grid + " --chunks 2").out.find("1 already in"), std::string::npos);  // 2 is the default
  // Pipelines do not clip: refused before anything, not skipped as trained.
  const Outcome clip = Paci(grid + " --grad-clip 1");
  EXPECT_REFUSED(clip, "--grad-clip");
  const Outcome chunks = Paci(grid + " --chunks 1");
  EXPECT_EQ(chunks.code, 0) << chunks.err;
  EXPECT_NE(chunks.out.find("0 already in"), std::string::npos) << chunks.out;
  EXPECT_EQ(RunCount(), 2u);
  const Outcome again = Paci(grid + " --chunks 1");
  EXPECT_NE(again.out.find("1 already in"), std::string::npos) << again.out;
  EXPECT_EQ(RunCount(), 2u);
}

// Item 5. was: two learning rates that print alike with {:g} ("0.001") were one point, trained
// twice and pooled as two seeds; two that the trainer reads as one float were the same.
TEST_F(HostileConcurrency, LearningRatesAreOnePointOnlyWhenTheyTrainAlike) {
  const std::string grid = "study --schedules paci --stages 2 --accum 2 --updates 2" + kModel + Db();
  const Outcome same = Paci(grid + " --lr 0.001,0.0010000001");  // one float
  EXPECT_REFUSED(same, "the grid names one point twice");
  EXPECT_EQ(RunCount(), 0u);
  const Outcome two = Paci(grid + " --lr 0.001,0.001000001");
  EXPECT_EQ(two.code, 0) << two.err;
  ASSERT_EQ(RunCount(), 2u);
  std::vector<double> lrs;
  for (const store::RunRecord& r : Runs()) lrs.push_back(r.info.config.lr.value_or(0));
  EXPECT_NE(lrs[0], lrs[1]);
}

// Item 5. was: both studies trained every point: 4 runs of 2 points, pooled as "seeds=2".
TEST_F(HostileConcurrency, TwoStudiesOnOneStoreTrainEachPointOnce) {
  const std::string grid =
      "study --schedules paci --stages 2 --accum 2 --seeds 2 --updates 40" + kModel + Db();
  Background a(grid, dir_.File("a.log")), b(grid, dir_.File("b.log"));
  EXPECT_EQ(a.Wait(240), 0) << ReadBytes(dir_.File("a.log"));
  EXPECT_EQ(b.Wait(240), 0) << ReadBytes(dir_.File("b.log"));
  EXPECT_EQ(RunCount(), 2u) << ReadBytes(dir_.File("a.log")) << ReadBytes(dir_.File("b.log"));
  EXPECT_EQ(CountState(store::RunState::kComplete), 2u);
}

// Item 5. was: a re-run while the killed study's child still trained trained the point again.
// A 'running' run whose writer is gone is dead, though: its point is trained again.
TEST_F(HostileConcurrency, ARerunLeavesAnOrphanedChildItsPointAndRetrainsADeadOne) {
  const std::string grid = "study --schedules paci --stages 2 --accum 2 --updates 1000000" + kModel + Db();
  const std::string log = dir_.File("first.log");
  Background first(grid, log);
  ASSERT_TRUE(WaitForRuns(1)) << ReadBytes(log);
  // The study alone is killed (not its group): its child trains on, an orphan.
  ASSERT_EQ(kill(first.pid(), SIGKILL), 0);
  ASSERT_EQ(first.Wait(10), 128 + SIGKILL);
  const Outcome rerun = Paci(grid);
  EXPECT_EQ(rerun.code, 0) << rerun.err;
  EXPECT_NE(rerun.out.find("busy"), std::string::npos) << rerun.out;
  EXPECT_EQ(RunCount(), 1u) << rerun.out;
  // Now the orphan dies too: its run stays 'running' with no writer, and is not a finished point.
  const std::vector<store::RunRecord> runs = Runs();
  ASSERT_EQ(runs.size(), 1u);
  ASSERT_GT(runs[0].writer_pid, 0);
  ASSERT_EQ(kill(static_cast<pid_t>(runs[0].writer_pid), SIGKILL), 0);
  for (int i = 0; i < 100 && CountState(store::RunState::kIncomplete) == 0; ++i) usleep(50'000);
  ASSERT_EQ(CountState(store::RunState::kIncomplete), 1u);
  const std::string log2 = dir_.File("second.log");
  Background second(grid, log2);
  EXPECT_TRUE(WaitForRuns(2)) << ReadBytes(log2);
  EXPECT_EQ(ReadBytes(log2).find("busy"), std::string::npos) << ReadBytes(log2);
}

// Item 5. was: the same point trained twice (same seed) was pooled as "seeds=2", interval 0.
TEST_F(HostileConcurrency, AReportCountsARepeatedSeedOnce) {
  const std::string train =
      "train" + kModel + " --schedule paci --stages 2 --accum 2 --updates 2 --seed 1" + Db();
  ASSERT_EQ(Paci(train).code, 0);
  ASSERT_EQ(Paci(train).code, 0);
  const std::string out = dir_.File("report");
  const Outcome o = Paci("study report --out " + out + Db());
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_NE(o.err.find("1 run(s) repeat a seed already counted"), std::string::npos) << o.err;
  const std::string final_csv = ReadBytes(out + "/final.csv");  // ...,tokens_per_update,seeds,...
  EXPECT_NE(final_csv.find(",0.001,64,1,"), std::string::npos) << final_csv;
}

// ASan reserves terabytes of shadow address space at start-up, so under it `ulimit -v` stops the
// binary before main; there the machine's memory is the only limit the profile can meet.
using paci::test_build::kAddressSanitizer;

// Item 6. was: ran out of memory (or was killed) part way through instead of refusing the shape.
TEST_F(HostileConcurrency, AProfileBeyondTheMachineIsRefused) {
  const std::string limit = kAddressSanitizer ? "" : "ulimit -v 4194304; ";
  const Outcome big =
      Paci("profile --dim 65536 --seq 4096 --microbatch-size 64 -o " + dir_.File("p.json"), limit);
  EXPECT_REFUSED(big, "--microbatch-size");
  EXPECT_NE(big.err.find("GiB"), std::string::npos) << big.err;
  EXPECT_LT(big.seconds, 60);
  const Outcome many = Paci("profile --colocate 100000 -o " + dir_.File("p.json"), limit);
  EXPECT_REFUSED(many, "--colocate");
  // Within the limit by the shape, beyond it by the slices co-location makes (64 copies of the
  // model's 4 layers, ~10 GiB: beyond the 4 GiB limit, not necessarily beyond the machine, so not
  // under ASan).
  if (kAddressSanitizer) return;
  const Outcome copies =
      Paci("profile --layers 2 --dim 512 --heads 8 --seq 64 --colocate 256 -o " + dir_.File("p.json"), limit);
  EXPECT_REFUSED(copies, "--colocate 256: 256 stages' slices");
  EXPECT_FALSE(std::filesystem::exists(dir_.File("p.json")));
}

}  // namespace
}  // namespace paci
