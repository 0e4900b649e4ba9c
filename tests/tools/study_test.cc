// `paci study` through the real binary: a 2 x 2 x 2 grid trained, resumed without re-running,
// reported (whole and a sub-grid) and ranked; what makes two points different (corpus, optimizer and sampler
// knobs, device); one log file per point; and the grid shared out among the copies a launcher starts (the
// launcher's variables here; real mpirun processes in study_mpi_test.sh).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/tools/cli_run.h"

namespace {

using paci::testing::CliRun;
using paci::testing::kTinyModel;
using paci::testing::Paci;

// A fresh directory under the temp dir, named for this test process.
std::filesystem::path FreshDir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / (name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

bool Has(const CliRun& r, const std::string& text) { return r.out.find(text) != std::string::npos; }

#ifdef PACI_HAVE_PLOT
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
#endif

// A 2 x 2 x 2 grid (schedules x K x lr) of tiny runs, two at once, into one store. Points are
// identified by the store's configuration columns and setup, not names: a run trained by hand
// under another name counts as its point; the same command again trains nothing; after one run is
// deleted it trains exactly that point again.
TEST(Study, TrainsTheGridAndResumesWithoutRerunning) {
  const auto dir = std::filesystem::temp_directory_path() / ("paci_study_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string db = (dir / "study.db").string();
  const std::string study =
      std::string("study --schedules paci,1f1b-flush --stages 2 --accum 1,2 --lr 1e-3,3e-3") +
      " --seeds 1 --updates 3 --jobs 2 --db " + db + " " + kTinyModel;
  const CliRun by_hand = Paci(
      "train --schedule paci --stages 2 --accum 1 --lr 1e-3 --seed 1 --updates 3 --warmup 0 "
      "--min-lr-frac 0.1 --name by-hand --db " +
      db + " " + kTinyModel);
  ASSERT_EQ(by_hand.code, 0) << by_hand.err;
  const CliRun first = Paci(study);
  ASSERT_EQ(first.code, 0) << first.err << first.out;
  EXPECT_NE(first.out.find("trained 7, skipped 1, failed 0"), std::string::npos) << first.out;
  const CliRun list = Paci("runs list --db " + db);
  size_t complete = 0;
  for (size_t at = list.out.find("complete"); at != std::string::npos; at = list.out.find("complete", at + 1))
    ++complete;
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
  const CliRun report =
      Paci("study report --db " + db + " --out " + out + " --target-loss 10 --cost " + cost);
  ASSERT_EQ(report.code, 0) << report.err;
  EXPECT_NE(report.out.find("8 configurations, 5 CSV files"), std::string::npos) << report.out;
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
    EXPECT_EQ(std::count(tta[i].begin(), tta[i].end(), ','), 17) << tta[i];
    // The configuration's label is quoted and holds no comma: field 8 is predicted_seconds.
    std::vector<std::string> field;
    std::stringstream row(tta[i]);
    for (std::string x; std::getline(row, x, ',');) field.push_back(x);
    ASSERT_GE(field.size(), 9u) << tta[i];
    EXPECT_FALSE(field[8].empty()) << tta[i];  // predicted seconds filled in
  }
  // One row per run: seed 1 of each of the 8 configurations.
  EXPECT_EQ(lines(out + "/seeds.csv").size(), 1u + 8);
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

  // A sub-grid: PACI at K = 2, lr 3e-3, and the flush baseline it is compared with.
  const CliRun sub = Paci("study report --no-plots --db " + db + " --out " + out +
                          "-sub --schedules paci --accum 2 --lr 3e-3");
  ASSERT_EQ(sub.code, 0) << sub.err;
  EXPECT_NE(sub.out.find("2 configurations"), std::string::npos) << sub.out;
  const std::vector<std::string> sub_final = lines(out + "-sub/final.csv");
  ASSERT_EQ(sub_final.size(), 3u);
  EXPECT_NE(sub_final[1].find("1f1b-flush P=2 K=2 lr=0.003"), std::string::npos) << sub_final[1];
  EXPECT_NE(sub_final[2].find("paci P=2 K=2 lr=0.003"), std::string::npos) << sub_final[2];
  EXPECT_NE(sub_final[2].back(), ',') << sub_final[2];  // the gap to flush is filled in
  const CliRun none = Paci("study report --no-plots --db " + db + " --out " + out + "-none --accum 5");
  EXPECT_EQ(none.code, 2);
  EXPECT_NE(none.err.find("--accum"), std::string::npos) << none.err;

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
  const std::string db = (dir / "study.db").string(), a = (dir / "a.txt").string(),
                    b = (dir / "b.txt").string(), a_copy = (dir / "a_copy.txt").string();
  {
    std::ofstream fa(a), fb(b);
    for (int i = 0; i < 40; ++i) {
      fa << "the quick brown fox jumps over the lazy dog " << i << "\n";
      fb << "pack my box with five dozen liquor jugs " << i << "\n";
    }
  }
  std::filesystem::copy_file(a, a_copy);
  const std::string study =
      "study --schedules paci --stages 2 --accum 1 --lr 1e-3 --seeds 1 --updates 2 --db " + db + " " +
      kTinyModel;
  const auto trained = [&](const std::string& extra, const char* expect) {
    const CliRun r = Paci(study + extra);
    ASSERT_EQ(r.code, 0) << extra << "\n" << r.err << r.out;
    EXPECT_NE(r.out.find(expect), std::string::npos) << extra << "\n" << r.out;
  };
  trained(" --data " + a, "trained 1, skipped 0, failed 0");
  trained(" --data " + b, "trained 1, skipped 0, failed 0");       // another corpus: another point
  trained(" --data " + a_copy, "trained 0, skipped 1, failed 0");  // the same text elsewhere: the same
  trained("", "trained 1, skipped 0, failed 0");                   // the default corpus
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

// The optimizer and sampler knobs a user may pass through, and the validation batches, are part
// of a point: changing one trains again, repeating it does not.
TEST(Study, WeightDecaySamplerAndValidationBatchesArePartOfAPoint) {
  const auto dir = FreshDir("paci_study_knobs");
  // kTinyModel without its --eval-batches: the default (20) first.
  const std::string study =
      "study --schedules paci --stages 2 --accum 1 --lr 1e-3 --seeds 1 --updates 2 --db " +
      (dir / "study.db").string() +
      " --layers 1 --dim 16 --heads 2 --seq 8 --microbatch-size 2 --eval-every 0";
  const auto expect = [&](const std::string& extra, const char* what) {
    const CliRun r = Paci(study + extra);
    ASSERT_EQ(r.code, 0) << extra << "\n" << r.err << r.out;
    EXPECT_TRUE(Has(r, what)) << extra << "\n" << r.out;
  };
  expect("", "trained 1, skipped 0");
  expect(" --weight-decay 0.05", "trained 1, skipped 0");
  expect(" --weight-decay 0.05", "trained 0, skipped 1");
  expect(" --sampler sequential", "trained 1, skipped 0");
  expect(" --eval-batches 2", "trained 1, skipped 0");
  expect(" --weight-decay 0.1 --sampler random --eval-batches 20", "trained 0, skipped 1");  // the defaults
  const CliRun bad = Paci(study + " --sampler shuffled");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("--sampler"), std::string::npos) << bad.err;
  std::filesystem::remove_all(dir);
}

// Every point writes its own log, named for its coordinates: two studies into one store (one of
// them a second corpus, same coordinates) leave one log per trained point, none overwritten.
TEST(Study, EveryPointHasItsOwnLog) {
  const auto dir = FreshDir("paci_study_logs");
  const std::string corpus = (dir / "corpus.txt").string();
  {
    std::ofstream text(corpus);
    for (int i = 0; i < 40; ++i) text << "every stage steps its own optimizer " << i << "\n";
  }
  const std::string study =
      "study --schedules paci,1f1b-flush --stages 2 --accum 1,2 --lr 1e-3 --seeds 1 "
      "--updates 2 --db " +
      (dir / "study.db").string() + " " + kTinyModel;
  ASSERT_EQ(Paci(study).code, 0);
  ASSERT_EQ(Paci(study + " --data " + corpus).code, 0);
  std::vector<std::string> logs;
  for (const auto& e : std::filesystem::directory_iterator(dir / "study.db.logs"))
    logs.push_back(e.path().filename());
  EXPECT_EQ(logs.size(), 8u);
  EXPECT_EQ(std::count_if(logs.begin(), logs.end(),
                          [](const std::string& n) { return n.rfind("paci-P2-K2-lr0.001-seed1-", 0) == 0; }),
            2);
  for (const std::string& name : logs)
    EXPECT_NE(paci::testing::ReadWholeFile((dir / "study.db.logs" / name).string()).find("update"),
              std::string::npos)
        << name;
  std::filesystem::remove_all(dir);
}

// Copies of one study started by a launcher share the grid by its variables: Open MPI's, MPICH's
// and srun's. Rank r of n trains points i with i % n == r; together they train every point once.
// Slurm's batch script alone (SLURM_PROCID and SLURM_NTASKS but no step) is not a split; a rank
// outside the size is refused naming the variable.
TEST(Study, ALaunchersRanksShareTheGrid) {
  const auto dir = FreshDir("paci_study_ranks");
  const std::string study =
      "study --schedules paci,1f1b-flush --stages 2 --accum 1,2 --lr 1e-3 --seeds 1 "
      "--updates 2 --db " +
      (dir / "study.db").string() + " " + kTinyModel;
  const CliRun zero = Paci(study, "OMPI_COMM_WORLD_RANK=0 OMPI_COMM_WORLD_SIZE=3");
  ASSERT_EQ(zero.code, 0) << zero.err << zero.out;
  EXPECT_TRUE(Has(zero,
                  "study rank 0 of 3 (OMPI_COMM_WORLD_RANK/SIZE): this rank trains grid points i with i % 3 "
                  "== 0: 2 of 4"))
      << zero.out;
  EXPECT_TRUE(Has(zero, "trained 2, skipped 0, failed 0")) << zero.out;
  const CliRun one = Paci(study, "PMI_RANK=1 PMI_SIZE=3");
  ASSERT_EQ(one.code, 0) << one.err;
  EXPECT_TRUE(Has(one, "study rank 1 of 3 (PMI_RANK/SIZE)")) << one.out;
  EXPECT_TRUE(Has(one, "trained 1, skipped 0, failed 0")) << one.out;
  const CliRun batch = Paci(study, "SLURM_PROCID=0 SLURM_NTASKS=3");  // a batch script, no srun
  ASSERT_EQ(batch.code, 0) << batch.err;
  EXPECT_TRUE(Has(batch, "study: 4 points, 3 already in")) << batch.out;
  EXPECT_TRUE(Has(batch, "trained 1, skipped 3, failed 0")) << batch.out;
  const CliRun srun = Paci(study, "SLURM_PROCID=2 SLURM_STEP_NUM_TASKS=3 SLURM_STEP_TASKS_PER_NODE='3(x1)'");
  ASSERT_EQ(srun.code, 0) << srun.err;
  EXPECT_TRUE(Has(srun, "trained 0, skipped 1, failed 0")) << srun.out;
  const CliRun bad = Paci(study, "OMPI_COMM_WORLD_RANK=3 OMPI_COMM_WORLD_SIZE=3");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("OMPI_COMM_WORLD_RANK=3"), std::string::npos) << bad.err;
  std::filesystem::remove_all(dir);
}

}  // namespace
