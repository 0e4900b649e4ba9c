// `--staleness NAME[=X]` (tools/staleness_flags.h) and schedule variants ("paci+rewind=1") through
// the real `paci` binary: the compensated cost and transient memory `paci simulate` and `predict`
// show, sweep rows of their own, `paci schedule --analyze`'s per-stage needs, and the refusals
// (exit 2, naming the flag) where a compensation does not apply.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/tools/cli_run.h"

namespace {

using paci::testing::CliRun;
using paci::testing::Paci;

// PACI P=4 K=3, 6 updates: stages 0-2 have backwards with drift 1, the last stage none.
// Optimizer 0.7 ms: one float per parameter costs 0.1 ms; 8 MiB of weights.
const std::string kPaci =
    "--schedule paci -P 4 -K 3 --updates 6 --fwd-ms 1 --bwd-ms 2 --opt-ms 0.7 --weights-mb 8";

nlohmann::json Json(const CliRun& r) {
  EXPECT_EQ(r.code, 0) << r.err;
  return nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
}

TEST(Staleness, SimulateChargesTheCompensationAndShowsItsTransientMemory) {
  const nlohmann::json plain = Json(Paci("simulate " + kPaci + " --no-db --json"));
  const nlohmann::json rewind = Json(Paci("simulate " + kPaci + " --staleness rewind=1 --no-db --json"));
  ASSERT_TRUE(plain.is_object() && rewind.is_object());
  EXPECT_EQ(plain["staleness"], "none");
  EXPECT_EQ(rewind["staleness"], "rewind=1");
  const auto &p = plain["per_stage"], &r = rewind["per_stage"];
  const uint64_t mib8 = 8u << 20;  // no layer count: the whole weight copy, an upper bound
  EXPECT_EQ(r[0]["transient_bytes"], mib8);
  EXPECT_EQ(r[0]["peak_memory_bytes"].get<uint64_t>(), p[0]["peak_memory_bytes"].get<uint64_t>() + mib8);
  EXPECT_EQ(r[0]["weight_bytes"], p[0]["weight_bytes"]);  // persistent bytes unchanged
  EXPECT_NEAR(r[0]["backward_input_ms"].get<double>(), 2.4, 1e-9);
  EXPECT_EQ(r[3]["transient_bytes"], 0);
  EXPECT_EQ(r[3]["peak_memory_bytes"], p[3]["peak_memory_bytes"]);
  EXPECT_GT(rewind["makespan_ms"].get<double>(), plain["makespan_ms"].get<double>());

  const CliRun table = Paci("simulate " + kPaci + " --staleness rewind --no-db");
  EXPECT_EQ(table.code, 0) << table.err;
  EXPECT_NE(table.out.find("paci+rewind=1 P=4 K=3"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("stage 0 rewind=1: transient one layer's weights, 8.00 MiB"), std::string::npos);
  EXPECT_NE(table.out.find("stage 3 rewind=1: transient none"), std::string::npos);
}

// With a model a rewind's transient is one block's weights (GPT-2 small, bf16: (12 x 768^2 + 13 x
// 768) x 2 bytes), not the embedding on stage 0 (its backward reads no weights), and none on the
// last stage, whose backwards never drift. A prediction estimates the embedding too (its forward
// reads it): stage 0 then holds the embedding's size, (50257 + 1024) x 768 x 2 bytes.
TEST(Staleness, SimulateWithAModelHoldsTheLargestLayerThatIsEstimated) {
  const std::string run =
      "simulate --schedule paci -P 4 -K 3 --updates 6 --model gpt2 --hardware h100 --no-db --json";
  const nlohmann::json j = Json(Paci(run + " --staleness rewind"));
  ASSERT_TRUE(j.is_object());
  const uint64_t block = (12ull * 768 * 768 + 13 * 768) * 2;
  EXPECT_EQ(j["per_stage"][0]["transient_bytes"], block);
  EXPECT_EQ(j["per_stage"][1]["transient_bytes"], block);
  EXPECT_EQ(j["per_stage"][3]["transient_bytes"], 0);
  const nlohmann::json p = Json(Paci(run + " --staleness predict"));
  ASSERT_TRUE(p.is_object());
  EXPECT_EQ(p["per_stage"][0]["transient_bytes"], (50257ull + 1024) * 768 * 2);
  EXPECT_EQ(p["per_stage"][1]["transient_bytes"], block);
  EXPECT_EQ(p["per_stage"][3]["transient_bytes"], 0);
}

TEST(Staleness, RefusedWhereItDoesNotApply) {
  struct Case {
    std::string args, flag, why;
  };
  const Case cases[] = {
      {"simulate --schedule 1f1b-flush -P 4 -K 3 --no-db --staleness rewind", "--staleness",
       "no micro-batch's weights change between its forward and backward"},
      {"simulate --schedule 1f1b-flush -P 4 -K 3 --no-db --staleness delay-comp=0.5", "--staleness",
       "no gradient is applied to weights newer than its forward's"},
      {"simulate --schedule pipemare -P 4 -K 3 --no-db --staleness predict", "--staleness", "pipemare"},
      {"simulate --schedule paci -P 4 -K 3 --no-db --staleness rewind=-1", "--staleness", "needs a number"},
      {"simulate --schedule paci -P 4 -K 3 --no-db --staleness bogus", "--staleness", "unknown compensation"},
      {"schedule --schedule 1f1b-flush -P 4 -K 3 --analyze --staleness stage-lr", "--staleness",
       "no micro-batch's weights change"},
      {"schedule --schedule paci -P 4 -K 3 --staleness rewind", "--staleness", "needs --analyze"},
      {"sweep --schedules paci,1f1b-flush+rewind=1 -P 4 -K 3 --no-db", "--schedules",
       "no micro-batch's weights change"},
      {"sweep --schedules paci+bogus -P 4 -K 3 --no-db", "--schedules", "unknown compensation"},
      {"sweep --schedules nope+rewind -P 4 -K 3 --no-db", "--schedules", "unknown schedule 'nope'"},
      {"predict --run 1 --staleness rewind --db /nonexistent.db", "--staleness", "does not apply with --run"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.args);
    const CliRun r = Paci(c.args);
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_NE(r.err.find(c.flag), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(c.why), std::string::npos) << r.err;
  }
}

TEST(Staleness, SweepVariantsAreRowsOfTheirOwn) {
  const std::string grid =
      "sweep --schedules paci,paci+rewind=1,1f1b-flush -P 4 -K 3 --opt-ms 0.7 --weights-mb 8 --no-db -o - ";
  const nlohmann::json rows = Json(Paci(grid + "--format json"));
  ASSERT_TRUE(rows.is_array());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0]["variant"], "paci");
  EXPECT_EQ(rows[0]["staleness"], "none");
  EXPECT_EQ(rows[1]["schedule"], "paci");
  EXPECT_EQ(rows[1]["variant"], "paci+rewind=1");
  EXPECT_EQ(rows[1]["staleness"], "rewind=1");
  EXPECT_EQ(rows[1]["transient_bytes"], 8u << 20);
  EXPECT_EQ(rows[0]["transient_bytes"], 0);
  EXPECT_EQ(rows[1]["peak_memory_bytes"].get<uint64_t>(),
            rows[0]["peak_memory_bytes"].get<uint64_t>() + (8u << 20));
  EXPECT_LT(rows[1]["steady_throughput_microbatches_per_s"].get<double>(),
            rows[0]["steady_throughput_microbatches_per_s"].get<double>());
  ASSERT_TRUE(rows[1].contains("per_stage"));  // its compensated costs
  EXPECT_NEAR(rows[1]["per_stage"][0]["backward_input_ms"].get<double>(), 2.4, 1e-9);
  EXPECT_EQ(rows[2]["variant"], "1f1b-flush");

  const CliRun csv = Paci(grid);
  EXPECT_EQ(csv.code, 0) << csv.err;
  EXPECT_EQ(csv.out.rfind("schedule,staleness,variant,", 0), 0u) << csv.out;
  EXPECT_NE(csv.out.find("\npaci,rewind=1,paci+rewind=1,4,3,"), std::string::npos) << csv.out;

  const CliRun table = Paci("sweep --schedules paci,paci+rewind=1 -P 4 -K 3 --opt-ms 0.7 --no-db");
  EXPECT_EQ(table.code, 0) << table.err;
  EXPECT_NE(table.out.find("paci+rewind=1 P=4 K=3"), std::string::npos) << table.out;
}

TEST(Staleness, ScheduleAnalyzeSaysWhatEachStageNeeds) {
  const nlohmann::json j =
      Json(Paci("schedule --schedule paci -P 4 -K 3 --updates 6 --analyze --format json --staleness rewind"));
  ASSERT_TRUE(j.is_object() && j.contains("staleness"));
  const nlohmann::json& s = j["staleness"];
  EXPECT_EQ(s["compensation"], "rewind=1");
  EXPECT_EQ(s["estimated_ops"], "backwards");
  EXPECT_EQ(s["persistent_bytes"], "unchanged");
  const int estimates[] = {15, 10, 5, 0};  // backwards with drift > 0 (the histogram's d = 1)
  for (int st = 0; st < 4; ++st) {
    SCOPED_TRACE(st);
    EXPECT_EQ(s["per_stage"][st]["estimates"], estimates[st]);
    EXPECT_EQ(s["per_stage"][st]["ops"], 18);
    EXPECT_EQ(s["per_stage"][st]["extra_floats_per_param"], 4.0 * estimates[st]);
    EXPECT_EQ(s["per_stage"][st]["transient"], st < 3 ? "one layer's weights" : "none");
  }
  const CliRun table =
      Paci("schedule --schedule paci -P 4 -K 3 --updates 6 --analyze --staleness delay-comp");
  EXPECT_EQ(table.code, 0) << table.err;
  EXPECT_NE(table.out.find("compensation delay-comp=1"), std::string::npos) << table.out;
}

TEST(Staleness, PredictBeforeARunCostsTheCompensation) {
  const auto dir = std::filesystem::temp_directory_path() / ("paci_staleness_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string cost = (dir / "cost.json").string(), db = (dir / "p.db").string();
  std::ofstream(cost) << R"({"stages":[{"fwd_ms":1,"bwd_ms":2,"opt_ms":0.7,"weights_mb":8}]})";
  const std::string args =
      "predict --schedule paci -P 4 -K 3 --updates 6 --cost " + cost + " --json --db " + db;
  const nlohmann::json plain = Json(Paci(args));
  const nlohmann::json rewind = Json(Paci(args + " --staleness rewind"));
  ASSERT_TRUE(plain.is_object() && rewind.is_object());
  EXPECT_GT(rewind["predicted"]["makespan_ms"].get<double>(),
            plain["predicted"]["makespan_ms"].get<double>());
  const CliRun refused =
      Paci("predict --schedule 1f1b-flush -P 4 -K 3 --cost " + cost + " --staleness rewind --db " + db);
  EXPECT_EQ(refused.code, 2);
  EXPECT_NE(refused.err.find("--staleness"), std::string::npos) << refused.err;
  std::filesystem::remove_all(dir);
}

}  // namespace
