// One reading of the flags (tools/spec_flags.h), checked through the real `paci` binary: for
// every command and every schedule kind, --accum K is the micro-batches per optimizer update,
// --updates U runs U updates and --microbatches N runs N micro-batches (N / K updates); flags that
// contradict each other or do not apply exit 2 and name the flags. `paci study` has its own tests
// (study_test.cc).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tests/tools/cli_run.h"

namespace {

using paci::testing::CliRun;
using paci::testing::Paci;

// Every kind with a K that suits it on P = 4.
struct Kind {
  const char* name;
  int K;
  bool flush;
};
const Kind kKinds[] = {{"gpipe", 4, true},     {"1f1b-flush", 4, true}, {"interleaved-1f1b", 4, true},
                       {"zb-h1", 4, true},     {"pipedream", 1, false}, {"pipedream-2bw", 4, false},
                       {"pipemare", 4, false}, {"paci", 4, false}};

std::string KindFlags(const Kind& k) {
  return std::string("--schedule ") + k.name + " --stages 4 --accum " + std::to_string(k.K);
}

TEST(Flags, ScheduleReadsRunLengthTheSameForEveryKind) {
  for (const Kind& k : kKinds) {
    for (const std::string& length :
         {std::string("--updates 3"), "--microbatches " + std::to_string(3 * k.K)}) {
      const CliRun r = Paci("schedule " + KindFlags(k) + " " + length + " --analyze --format json");
      ASSERT_EQ(r.code, 0) << k.name << " " << length << "\n" << r.err;
      const nlohmann::json j = nlohmann::json::parse(r.out);
      EXPECT_EQ(j.at("total_microbatches"), 3 * k.K) << k.name;
      EXPECT_EQ(j.at(k.flush ? "microbatches_per_iteration" : "accum"), k.K) << k.name;
      for (const auto& stage : j.at("per_stage"))
        EXPECT_EQ(stage.at("optimizer_steps"), 3) << k.name << " " << length;
    }
  }
}

TEST(Flags, SimulateRunsTheUpdatesAskedFor) {
  for (const Kind& k : kKinds) {
    const CliRun r = Paci("simulate " + KindFlags(k) + " --updates 5 --json --no-db");
    ASSERT_EQ(r.code, 0) << k.name << "\n" << r.err;
    const nlohmann::json j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j.at("optimizer_updates"), 5) << k.name;
    EXPECT_EQ(j.at("total_microbatches"), 5 * k.K) << k.name;
  }
  // The case: 800 micro-batches of K = 8 are 100 flush iterations, not one of 800.
  const CliRun r =
      Paci("simulate --schedule 1f1b-flush --stages 4 --accum 8 --microbatches 800 --json --no-db");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("optimizer_updates"), 100);
  EXPECT_EQ(j.at("microbatches_per_iteration"), 8);
  // Without a length every schedule runs 4 * max(P, K) micro-batches, rounded up to whole updates.
  for (const Kind& k : kKinds) {
    const CliRun d = Paci("simulate " + KindFlags(k) + " --json --no-db");
    ASSERT_EQ(d.code, 0) << k.name << "\n" << d.err;
    EXPECT_EQ(nlohmann::json::parse(d.out).at("total_microbatches"), 16) << k.name;
  }
}

TEST(Flags, SweepReadsRunLengthTheSameWay) {
  const CliRun r = Paci("sweep --schedules all --stages 4 --accum 4 --updates 3 -o - --format json --no-db");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json rows = nlohmann::json::parse(r.out);
  ASSERT_EQ(rows.size(), 8u);
  for (const auto& row : rows) {
    if (!row.at("error").get<std::string>().empty()) {  // pipedream has K = 1 only
      EXPECT_EQ(row.at("schedule"), "pipedream");
      continue;
    }
    EXPECT_EQ(row.at("microbatches"), 12) << row.at("schedule");
    EXPECT_EQ(row.at("optimizer_updates"), 3) << row.at("schedule");
  }
}

// Issue 30 item 11: without a run length, sweep leads with each point's steady state (its
// default run of 8 x max(P, K) micro-batches is mostly fill and drain), names it, gives the
// short run beside it and ranks by it; a run length asked for keeps the run's figures alone.
TEST(Flags, SweepDefaultShowsTheSteadyState) {
  const CliRun table =
      Paci("sweep --schedules paci,1f1b-flush --stages 4 --accum 4 --fwd-ms 1 --bwd-ms 2 --no-db");
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_NE(table.out.find("steady state: "), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("steady_mb/s"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("run_mb/s"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("best steady-state throughput"), std::string::npos) << table.out;
  const CliRun json = Paci(
      "sweep --schedules paci,1f1b-flush --stages 4 --accum 4 --fwd-ms 1 --bwd-ms 2 -o - --format json "
      "--no-db");
  ASSERT_EQ(json.code, 0) << json.err;
  const nlohmann::json rows = nlohmann::json::parse(json.out);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].at("schedule"), "paci");
  EXPECT_GT(rows[0].at("steady_throughput_microbatches_per_s").get<double>(),
            1.05 * rows[0].at("throughput_microbatches_per_s").get<double>());
  EXPECT_LT(rows[0].at("steady_bubble_fraction").get<double>(), rows[0].at("bubble_fraction").get<double>());
  EXPECT_GT(rows[0].at("steady_updates").get<int>(), 0);
  const CliRun csv = Paci("sweep --schedules paci --stages 4 --accum 4 -o - --no-db");
  ASSERT_EQ(csv.code, 0) << csv.err;
  EXPECT_NE(csv.out.find(",steady_throughput_microbatches_per_s,"), std::string::npos) << csv.out;
  const CliRun asked =
      Paci("sweep --schedules paci --stages 4 --accum 4 --updates 3 -o - --format json --no-db");
  ASSERT_EQ(asked.code, 0) << asked.err;
  EXPECT_FALSE(nlohmann::json::parse(asked.out)[0].contains("steady_throughput_microbatches_per_s"));
  const CliRun asked_table = Paci("sweep --schedules paci --stages 4 --accum 4 --updates 3 --no-db");
  EXPECT_EQ(asked_table.out.find("steady"), std::string::npos) << asked_table.out;
}

using paci::testing::kTinyModel;

TEST(Flags, TrainRunsMicrobatchesAsWholeUpdates) {
  for (const char* pipe :
       {"", "--schedule 1f1b-flush --stages 2 --no-db", "--schedule paci --stages 2 --no-db"}) {
    const CliRun r = Paci(std::string("train ") + kTinyModel + " --accum 2 --microbatches 6 " + pipe);
    ASSERT_EQ(r.code, 0) << pipe << "\n" << r.err;
    EXPECT_NE(r.out.find("trained 3 updates"), std::string::npos) << pipe << "\n" << r.out;
  }
}

// PipeMare's lr-reschedule length reaches the stage workers: stage 0 of 3 at K = 1 has delay 2,
// so its first steps are scaled by 2^-p, p annealed over --pipemare-lr-warmup updates.
TEST(Flags, PipeMareLrWarmupChangesTheRun) {
  const auto val_loss = [](int warmup) {
    const CliRun r =
        Paci(std::string("train ") + kTinyModel + " --accum 1 --microbatches 4 --schedule pipemare" +
             " --stages 3 --no-db --pipemare-lr-warmup " + std::to_string(warmup));
    EXPECT_EQ(r.code, 0) << r.err;
    const size_t at = r.out.find("val loss");
    return at == std::string::npos ? std::string() : r.out.substr(at, 16);
  };
  const std::string quick = val_loss(1), slow = val_loss(1000);
  EXPECT_FALSE(quick.empty());
  EXPECT_NE(quick, slow);
}

TEST(Flags, ContradictoryOrInapplicableFlagsExitTwoNamingThem) {
  const auto dir = std::filesystem::temp_directory_path() / ("paci_flags_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "s.json").string();
  ASSERT_EQ(Paci("schedule --schedule paci --stages 4 --format json -o " + file).code, 0);
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"schedule --schedule 1f1b-flush --stages 4 --accum 8 --microbatches 20",
       {"--microbatches", "--accum"}},
      {"schedule --schedule paci --stages 4 --accum 4 --microbatches 10", {"--microbatches", "--accum"}},
      {"schedule --schedule gpipe --stages 4 --microbatches 16 --updates 2", {"--microbatches", "--updates"}},
      {"schedule --schedule paci --stages 4 --microbatches 16 --iterations 4",
       {"--microbatches", "--updates"}},
      {"schedule --schedule interleaved-1f1b --stages 4 --accum 6", {"--accum", "--stages"}},
      {"schedule --schedule pipedream --stages 4 --accum 4", {"--accum"}},
      {"schedule --schedule 1f1b-flush --stages 4 --window 4,3,2,1", {"--window"}},
      {"schedule --schedule 1f1b-flush --stages 4 --chunks 2", {"--chunks"}},
      {"schedule --input " + file + " --stages 4", {"--stages", "--input"}},
      {"simulate --input " + file + " --microbatches 8 --no-db", {"--microbatches", "--input"}},
      {"simulate --schedule zb-h1 --stages 4 --accum 8 --microbatches 12 --no-db",
       {"--microbatches", "--accum"}},
      {"simulate --schedule pipemare --stages 4 --updates 2 --microbatches 8 --no-db",
       {"--microbatches", "--updates"}},
      {"sweep --stages 4 --accum 4,8 --microbatches 12 --no-db", {"--microbatches", "--accum"}},
      {"sweep --stages 4 --accum 4 --microbatches 16 --updates 4 --no-db", {"--microbatches", "--updates"}},
      {std::string("train ") + kTinyModel + " --accum 2 --microbatches 6 --updates 3",
       {"--microbatches", "--updates"}},
      {std::string("train ") + kTinyModel + " --accum 2 --microbatches 5", {"--microbatches", "--accum"}},
      {std::string("train ") + kTinyModel + " --schedule pipedream --stages 2 --accum 4 --no-db",
       {"--accum"}},
      {std::string("train ") + kTinyModel + " --stages 2", {"--stages", "--schedule"}},
      {std::string("train ") + kTinyModel + " --schedule paci --stages 2 --pipemare-lr-warmup 5 --no-db",
       {"--pipemare-lr-warmup", "pipemare"}},
      {std::string("train ") + kTinyModel + " --pipemare-lr-warmup 5",
       {"--pipemare-lr-warmup", "--schedule"}},
      // Unpipelined training has no drift: was silently accepted.
      {std::string("train ") + kTinyModel + " --drift-lr-scale 1", {"--drift-lr-scale", "--schedule"}},
      {std::string("train ") + kTinyModel + " --schedule pipemare --stages 2 --pipemare-lr-warmup 0 --no-db",
       {"--pipemare-lr-warmup"}},
      {std::string("train ") + kTinyModel + " --staleness rewind", {"--staleness", "--schedule"}},
      {std::string("train ") + kTinyModel + " --schedule paci --stages 2 --staleness stash --no-db",
       {"--staleness", "unknown compensation 'stash'", "rewind"}},
      {std::string("train ") + kTinyModel + " --schedule paci --stages 2 --staleness rewind=nan --no-db",
       {"--staleness", "[0, 1000]"}},
      {std::string("train ") + kTinyModel +
           " --schedule paci --stages 2 --staleness rewind --drift-lr-scale 1 --no-db",
       {"--drift-lr-scale", "not both"}},
      {std::string("train ") + kTinyModel + " --schedule 1f1b-flush --stages 2 --staleness predict --no-db",
       {"--staleness", "predict=1 does not apply to 1f1b-flush"}},
      {std::string("train ") + kTinyModel + " --schedule pipemare --stages 2 --staleness rewind --no-db",
       {"--staleness", "pipemare"}},
      {std::string("train ") + kTinyModel +
           " --schedule pipedream-2bw --stages 2 --accum 2 --staleness rewind --no-db",
       {"--staleness", "rewind=1 does not apply to pipedream-2bw"}},
      {"study --schedules paci+stash --stages 2 --db " + (dir / "s.db").string(), {"--schedules", "stash"}},
      {"study --schedules paci+rewind --stages 2 --staleness rewind --db " + (dir / "s.db").string(),
       {"--staleness", "variants"}},
      {std::string("train ") + kTinyModel + " --pin on", {"--pin", "--schedule"}},
      {std::string("train ") + kTinyModel + " --schedule paci --stages 2 --pin sometimes --no-db", {"--pin"}},
      // More stage threads than any machine's CPUs: --pin on cannot give each its own.
      {std::string("train ") + kTinyModel + " --schedule paci --stages 2 --threads 100000 --pin on --no-db",
       {"--pin on", "CPUs"}},
  };
  for (const auto& [args, names] : cases) {
    const CliRun r = Paci(args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
    for (const std::string& name : names)
      EXPECT_NE(r.err.find(name), std::string::npos) << args << "\n" << r.err;
  }
  std::filesystem::remove_all(dir);
}

// The part of `paci train`'s closing line after "final train loss" (no timings): the losses.
std::string FinalLosses(const std::string& out);

// --pin says what it decided, and pinning changes where threads run, never what they compute.
TEST(Train, PinningIsReportedAndLeavesTheLossesAlone) {
  const std::string base = std::string("train ") + kTinyModel +
                           " --schedule paci --stages 2 --accum 2 --updates 3 --threads 1 --no-db";
  const CliRun off = Paci(base + " --pin off");
  const CliRun automatic = Paci(base);
  ASSERT_EQ(off.code, 0) << off.err;
  ASSERT_EQ(automatic.code, 0) << automatic.err;
  EXPECT_EQ(off.err.find("pinned"), std::string::npos) << off.err;
  // Two stages of one thread are pinned when this process may use two CPUs, and said not to be otherwise.
  EXPECT_TRUE(automatic.err.find("stage threads pinned: stage 0 -> CPU") != std::string::npos ||
              automatic.err.find("stage threads not pinned") != std::string::npos)
      << automatic.err;
  EXPECT_EQ(FinalLosses(off.out), FinalLosses(automatic.out));
  EXPECT_FALSE(FinalLosses(off.out).empty()) << off.out;
}

std::string FinalLosses(const std::string& out) {
  const size_t at = out.find("final train loss");
  return at == std::string::npos ? "" : out.substr(at, out.find('\n', at) - at);
}

// --drift-lr-scale (a staleness mitigation that costs no memory) changes PACI's training,
// deterministically, and is refused, naming the flag, where no micro-batch's weights drift.
TEST(Train, DriftLrScaleAppliesOnlyWhereWeightsDrift) {
  const std::string base = std::string("train ") + kTinyModel + " --stages 2 --updates 4 --lr 3e-3 --no-db";
  for (const char* refused : {"--schedule 1f1b-flush --accum 2", "--schedule pipedream-2bw --accum 2",
                              "--schedule pipedream --accum 1"}) {
    const CliRun r = Paci(base + " " + refused + " --drift-lr-scale 1");
    EXPECT_EQ(r.code, 2) << refused << r.out;
    EXPECT_NE(r.err.find("--drift-lr-scale"), std::string::npos) << r.err;
  }
  EXPECT_EQ(Paci(base + " --schedule paci --accum 2 --drift-lr-scale -1").code, 2);
  const CliRun plain = Paci(base + " --schedule paci --accum 2");
  const CliRun mitigated = Paci(base + " --schedule paci --accum 2 --drift-lr-scale 1");
  const CliRun again = Paci(base + " --schedule paci --accum 2 --drift-lr-scale 1");
  ASSERT_EQ(plain.code, 0) << plain.err;
  ASSERT_EQ(mitigated.code, 0) << mitigated.err;
  ASSERT_FALSE(FinalLosses(plain.out).empty()) << plain.out;
  EXPECT_NE(FinalLosses(plain.out), FinalLosses(mitigated.out));
  EXPECT_EQ(FinalLosses(mitigated.out), FinalLosses(again.out));
}

// --staleness: every compensation trains, changes PACI's losses deterministically, and records
// its name; delay-comp also applies to 2BW (its gradient is one update stale), the lr kinds not.
TEST(Train, StalenessCompensationsTrainAndAreDeterministic) {
  // The block on stage 0 with the embedding: the embedding alone reads no weights in its backward,
  // so rewind and predict would have nothing to estimate there.
  const std::string base =
      std::string("train ") + kTinyModel + " --stages 2 --partition 2 --updates 8 --lr 3e-2 --no-db";
  const CliRun plain = Paci(base + " --schedule paci --accum 2");
  ASSERT_EQ(plain.code, 0) << plain.err;
  for (const char* s : {"rewind", "predict", "delay-comp=100", "stage-lr"}) {
    const CliRun a = Paci(base + " --schedule paci --accum 2 --staleness " + s);
    const CliRun b = Paci(base + " --schedule paci --accum 2 --staleness " + s);
    ASSERT_EQ(a.code, 0) << s << a.err;
    EXPECT_NE(FinalLosses(plain.out), FinalLosses(a.out)) << s;
    EXPECT_EQ(FinalLosses(a.out), FinalLosses(b.out)) << s;
  }
  EXPECT_EQ(Paci(base + " --schedule pipedream-2bw --accum 2 --staleness delay-comp").code, 0);
  EXPECT_EQ(Paci(base + " --schedule pipedream-2bw --accum 2 --staleness stage-lr").code, 2);
  // --drift-lr-scale A and --staleness drift-lr-scale=A are one compensation.
  EXPECT_EQ(FinalLosses(Paci(base + " --schedule paci --accum 2 --drift-lr-scale 1").out),
            FinalLosses(Paci(base + " --schedule paci --accum 2 --staleness drift-lr-scale=1").out));
}

}  // namespace
