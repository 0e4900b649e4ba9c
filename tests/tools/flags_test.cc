// One reading of the flags (tools/spec_flags.h), checked through the real `paci` binary: for
// every command and every schedule kind, --accum K is the micro-batches per optimizer update,
// --updates U runs U updates and --microbatches N runs N micro-batches (N / K updates); flags that
// contradict each other or do not apply exit 2 and name the flags. `paci study`, which hands a
// grid of points to `paci train`, trains a 2 x 2 x 2 grid and resumes it without re-running, and
// tells points on different corpora apart.
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

namespace {

struct CliRun {
  int code = -1;
  std::string out, err;
};

CliRun Paci(const std::string& args) {
  static int counter = 0;
  const auto dir = std::filesystem::temp_directory_path();
  const std::string tag = std::to_string(::getpid()) + "_" + std::to_string(counter++);
  const std::string out = (dir / ("paci_flags_out_" + tag)).string(), err = (dir / ("paci_flags_err_" + tag)).string();
  const int status = std::system((std::string(PACI_BIN) + " " + args + " >" + out + " 2>" + err).c_str());
  CliRun r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  auto slurp = [](const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    std::filesystem::remove(path);
    return ss.str();
  };
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

// Every kind with a K that suits it on P = 4.
struct Kind {
  const char* name;
  int K;
  bool flush;
};
const Kind kKinds[] = {{"gpipe", 4, true},          {"1f1b-flush", 4, true}, {"interleaved-1f1b", 4, true},
                       {"zb-h1", 4, true},          {"pipedream", 1, false}, {"pipedream-2bw", 4, false},
                       {"pipemare", 4, false},      {"paci", 4, false}};

std::string KindFlags(const Kind& k) {
  return std::string("--schedule ") + k.name + " --stages 4 --accum " + std::to_string(k.K);
}

TEST(Flags, ScheduleReadsRunLengthTheSameForEveryKind) {
  for (const Kind& k : kKinds) {
    for (const std::string& length : {std::string("--updates 3"), "--microbatches " + std::to_string(3 * k.K)}) {
      const CliRun r = Paci("schedule " + KindFlags(k) + " " + length + " --analyze --format json");
      ASSERT_EQ(r.code, 0) << k.name << " " << length << "\n" << r.err;
      const nlohmann::json j = nlohmann::json::parse(r.out);
      EXPECT_EQ(j.at("total_microbatches"), 3 * k.K) << k.name;
      EXPECT_EQ(j.at(k.flush ? "microbatches_per_iteration" : "accum"), k.K) << k.name;
      for (const auto& stage : j.at("per_stage")) EXPECT_EQ(stage.at("optimizer_steps"), 3) << k.name << " " << length;
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
  // The issue's case: 800 micro-batches of K = 8 are 100 flush iterations, not one of 800.
  const CliRun r = Paci("simulate --schedule 1f1b-flush --stages 4 --accum 8 --microbatches 800 --json --no-db");
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

const char* kTinyModel = "--layers 1 --dim 16 --heads 2 --seq 8 --microbatch-size 2 --eval-every 0 --eval-batches 1";

TEST(Flags, TrainRunsMicrobatchesAsWholeUpdates) {
  for (const char* pipe : {"", "--schedule 1f1b-flush --stages 2 --no-db", "--schedule paci --stages 2 --no-db"}) {
    const CliRun r = Paci(std::string("train ") + kTinyModel + " --accum 2 --microbatches 6 " + pipe);
    ASSERT_EQ(r.code, 0) << pipe << "\n" << r.err;
    EXPECT_NE(r.out.find("trained 3 updates"), std::string::npos) << pipe << "\n" << r.out;
  }
}

// PipeMare's lr-reschedule length reaches the stage workers: stage 0 of 3 at K = 1 has delay 2,
// so its first steps are scaled by 2^-p, p annealed over --pipemare-lr-warmup updates.
TEST(Flags, PipeMareLrWarmupChangesTheRun) {
  const auto val_loss = [](int warmup) {
    const CliRun r = Paci(std::string("train ") + kTinyModel + " --accum 1 --microbatches 4 --schedule pipemare" +
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
      {"schedule --schedule 1f1b-flush --stages 4 --accum 8 --microbatches 20", {"--microbatches", "--accum"}},
      {"schedule --schedule paci --stages 4 --accum 4 --microbatches 10", {"--microbatches", "--accum"}},
      {"schedule --schedule gpipe --stages 4 --microbatches 16 --updates 2", {"--microbatches", "--updates"}},
      {"schedule --schedule paci --stages 4 --microbatches 16 --iterations 4", {"--microbatches", "--updates"}},
      {"schedule --schedule interleaved-1f1b --stages 4 --accum 6", {"--accum", "--stages"}},
      {"schedule --schedule pipedream --stages 4 --accum 4", {"--accum"}},
      {"schedule --schedule 1f1b-flush --stages 4 --window 4,3,2,1", {"--window"}},
      {"schedule --schedule 1f1b-flush --stages 4 --chunks 2", {"--chunks"}},
      {"schedule --input " + file + " --stages 4", {"--stages", "--input"}},
      {"simulate --input " + file + " --microbatches 8 --no-db", {"--microbatches", "--input"}},
      {"simulate --schedule zb-h1 --stages 4 --accum 8 --microbatches 12 --no-db", {"--microbatches", "--accum"}},
      {"simulate --schedule pipemare --stages 4 --updates 2 --microbatches 8 --no-db", {"--microbatches", "--updates"}},
      {"sweep --stages 4 --accum 4,8 --microbatches 12 --no-db", {"--microbatches", "--accum"}},
      {"sweep --stages 4 --accum 4 --microbatches 16 --updates 4 --no-db", {"--microbatches", "--updates"}},
      {std::string("train ") + kTinyModel + " --accum 2 --microbatches 6 --updates 3", {"--microbatches", "--updates"}},
      {std::string("train ") + kTinyModel + " --accum 2 --microbatches 5", {"--microbatches", "--accum"}},
      {std::string("train ") + kTinyModel + " --schedule pipedream --stages 2 --accum 4 --no-db", {"--accum"}},
      {std::string("train ") + kTinyModel + " --stages 2", {"--stages", "--schedule"}},
      {std::string("train ") + kTinyModel + " --schedule paci --stages 2 --pipemare-lr-warmup 5 --no-db",
       {"--pipemare-lr-warmup", "pipemare"}},
      {std::string("train ") + kTinyModel + " --pipemare-lr-warmup 5", {"--pipemare-lr-warmup", "--schedule"}},
      // Unpipelined training has no drift: was silently accepted.
      {std::string("train ") + kTinyModel + " --drift-lr-scale 1", {"--drift-lr-scale", "--schedule"}},
      {std::string("train ") + kTinyModel + " --schedule pipemare --stages 2 --pipemare-lr-warmup 0 --no-db",
       {"--pipemare-lr-warmup"}},
      {std::string("train ") + kTinyModel + " --pin on", {"--pin", "--schedule"}},
      {std::string("train ") + kTinyModel + " --schedule paci --stages 2 --pin sometimes --no-db", {"--pin"}},
      // More stage threads than any machine's CPUs: --pin on cannot give each its own.
      {std::string("train ") + kTinyModel + " --schedule paci --stages 2 --threads 100000 --pin on --no-db",
       {"--pin on", "CPUs"}},
  };
  for (const auto& [args, names] : cases) {
    const CliRun r = Paci(args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
    for (const std::string& name : names) EXPECT_NE(r.err.find(name), std::string::npos) << args << "\n" << r.err;
  }
  std::filesystem::remove_all(dir);
}

// The part of `paci train`'s closing line after "final train loss" (no timings): the losses.
std::string FinalLosses(const std::string& out);

// --pin says what it decided, and pinning changes where threads run, never what they compute.
TEST(Train, PinningIsReportedAndLeavesTheLossesAlone) {
  const std::string base = std::string("train ") + kTinyModel + " --schedule paci --stages 2 --accum 2 --updates 3 --threads 1 --no-db";
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

// True when `path` starts with the PNG signature / holds an <svg> element, and is not tiny.
bool IsPng(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string head(8, '\0');
  in.read(head.data(), 8);
  return head == "\x89PNG\r\n\x1a\n" && std::filesystem::file_size(path) > 1000;
}
bool IsSvg(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str().find("<svg") != std::string::npos && ss.str().find("</svg>") != std::string::npos &&
         ss.str().size() > 1000;
}

// A 2 x 2 x 2 grid (schedules x K x lr) of tiny runs, two at once, into one store. Points are
// identified by the store's configuration columns and setup, not names: a run trained by hand
// under another name counts as its point; the same command again trains nothing; after one run is
// deleted it trains exactly that point again.
TEST(Study, TrainsTheGridAndResumesWithoutRerunning) {
  const auto dir = std::filesystem::temp_directory_path() / ("paci_study_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string db = (dir / "study.db").string();
  const std::string study = std::string("study --schedules paci,1f1b-flush --stages 2 --accum 1,2 --lr 1e-3,3e-3") +
                            " --seeds 1 --updates 3 --jobs 2 --db " + db + " " + kTinyModel;
  const CliRun by_hand = Paci("train --schedule paci --stages 2 --accum 1 --lr 1e-3 --seed 1 --updates 3 --warmup 0 "
                              "--min-lr-frac 0.1 --name by-hand --db " + db + " " + kTinyModel);
  ASSERT_EQ(by_hand.code, 0) << by_hand.err;
  const CliRun first = Paci(study);
  ASSERT_EQ(first.code, 0) << first.err << first.out;
  EXPECT_NE(first.out.find("trained 7, skipped 1, failed 0"), std::string::npos) << first.out;
  const CliRun list = Paci("runs list --db " + db);
  size_t complete = 0;
  for (size_t at = list.out.find("complete"); at != std::string::npos; at = list.out.find("complete", at + 1)) ++complete;
  EXPECT_EQ(complete, 8u) << list.out;

  const CliRun again = Paci(study);
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.out.find("trained 0, skipped 8, failed 0"), std::string::npos) << again.out;
  ASSERT_EQ(Paci("runs delete 3 --db " + db).code, 0);
  const CliRun resumed = Paci(study);
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("trained 1, skipped 7, failed 0"), std::string::npos) << resumed.out;

  // The report: every update of every run as loss against tokens, one band per configuration, and
  // tokens and predicted seconds to a loss every run reaches (seed 1 only: no spread, lo = hi).
  const std::string cost = (dir / "cost.json").string();
  std::ofstream(cost) << R"({"stages":[{"fwd_ms":1,"bwd_ms":2}],"tokens_per_microbatch":16})";
  const std::string out = (dir / "report").string();
  const CliRun report = Paci("study report --db " + db + " --out " + out + " --target-loss 10 --cost " + cost);
  ASSERT_EQ(report.code, 0) << report.err;
  EXPECT_NE(report.out.find("8 configurations, 4 CSV files"), std::string::npos) << report.out;
  const auto lines = [](const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> rows;
    for (std::string line; std::getline(in, line);) rows.push_back(line);
    return rows;
  };
  EXPECT_EQ(lines(out + "/curves.csv").size(), 1u + 8 * 3);
  EXPECT_EQ(lines(out + "/bands.csv").size(), 1u + 8 * 3);
  const std::vector<std::string> tta = lines(out + "/tta.csv");
  ASSERT_EQ(tta.size(), 1u + 8);
  for (size_t i = 1; i < tta.size(); ++i) {
    EXPECT_EQ(std::count(tta[i].begin(), tta[i].end(), ','), 9) << tta[i];
    EXPECT_NE(tta[i].back(), ',') << tta[i];  // predicted seconds filled in
  }
  // 1F1B-flush at P = 2, K = 1 under 1 + 2 ms per micro-batch: 16 tokens per (K + P - 1) x 3 ms.
  EXPECT_NE(tta[1].find("1f1b-flush P=2 K=1"), std::string::npos) << tta[1];
  EXPECT_NE(tta[1].find(",2666.67,"), std::string::npos) << tta[1];
  EXPECT_EQ(lines(out + "/final.csv").size(), 1u + 8);
#ifdef PACI_HAVE_PLOT
  // Plots: loss vs tokens and vs predicted time per lr, TTA bars, one K x lr heat map (paci).
  EXPECT_NE(report.out.find("6 plots"), std::string::npos) << report.out;
  for (const char* stem : {"loss_vs_tokens_lr0.001", "loss_vs_tokens_lr0.003", "loss_vs_time_lr0.001",
                           "loss_vs_time_lr0.003", "tta", "gap_heatmap_paci"}) {
    EXPECT_TRUE(IsPng(out + "/" + stem + ".png")) << stem;
    EXPECT_TRUE(IsSvg(out + "/" + stem + ".svg")) << stem;
  }
#else
  EXPECT_NE(report.err.find("plots need Qt"), std::string::npos) << report.err;
#endif
  EXPECT_EQ(Paci("study report --db " + db + " --out " + out + " --cost " + cost).code, 2);

  // The sweep ranks the study's configurations by predicted time to the target and says why.
  const CliRun ranked = Paci("sweep --loss-curves " + db + " --target-loss 10 --cost " + cost + " --no-db");
  ASSERT_EQ(ranked.code, 0) << ranked.err;
  EXPECT_NE(ranked.out.find("the best flush baseline"), std::string::npos) << ranked.out;
  EXPECT_NE(ranked.out.find("x tokens"), std::string::npos) << ranked.out;
  EXPECT_NE(ranked.out.find("recommendation: "), std::string::npos) << ranked.out;
  const CliRun grid = Paci("sweep --loss-curves " + db + " --target-loss 10 --stages 4 --no-db");
  EXPECT_EQ(grid.code, 2);
  EXPECT_NE(grid.err.find("--stages"), std::string::npos) << grid.err;
  EXPECT_EQ(Paci("sweep --loss-curves " + db + " --no-db").code, 2);  // no --target-loss

  const CliRun owned = Paci(study + " --seed 4");
  EXPECT_EQ(owned.code, 2);
  EXPECT_NE(owned.err.find("--seed"), std::string::npos) << owned.err;
  std::filesystem::remove_all(dir);
}

// A point's corpus is part of its identity (by content): the same grid on another --data file
// trains again, a copy of the first file under another name does not, the default corpus is a
// third, and the report keeps the three apart. A missing file is refused before anything trains.
TEST(Study, TheCorpusIsPartOfAPointsIdentity) {
  const auto dir = std::filesystem::temp_directory_path() / ("paci_study_data_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string db = (dir / "study.db").string(), a = (dir / "a.txt").string(), b = (dir / "b.txt").string(),
                    a_copy = (dir / "a_copy.txt").string();
  {
    std::ofstream fa(a), fb(b);
    for (int i = 0; i < 40; ++i) {
      fa << "the quick brown fox jumps over the lazy dog " << i << "\n";
      fb << "pack my box with five dozen liquor jugs " << i << "\n";
    }
  }
  std::filesystem::copy_file(a, a_copy);
  const std::string study = "study --schedules paci --stages 2 --accum 1 --lr 1e-3 --seeds 1 --updates 2 --db " + db +
                            " " + kTinyModel;
  const auto trained = [&](const std::string& extra, const char* expect) {
    const CliRun r = Paci(study + extra);
    ASSERT_EQ(r.code, 0) << extra << "\n" << r.err << r.out;
    EXPECT_NE(r.out.find(expect), std::string::npos) << extra << "\n" << r.out;
  };
  trained(" --data " + a, "trained 1, skipped 0, failed 0");
  trained(" --data " + b, "trained 1, skipped 0, failed 0");       // another corpus: another point
  trained(" --data " + a_copy, "trained 0, skipped 1, failed 0");  // the same text elsewhere: the same
  trained("", "trained 1, skipped 0, failed 0");                    // the default corpus
  trained(" --data " + b, "trained 0, skipped 1, failed 0");

  const CliRun report = Paci("study report --no-plots --db " + db + " --out " + (dir / "report").string());
  ASSERT_EQ(report.code, 0) << report.err;
  EXPECT_NE(report.out.find("3 configurations"), std::string::npos) << report.out;

  const CliRun missing = Paci(study + " --data " + (dir / "missing.txt").string());
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("--data"), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find("missing.txt"), std::string::npos) << missing.err;
  std::filesystem::remove_all(dir);
}

}  // namespace
