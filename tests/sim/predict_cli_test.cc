// `paci profile`, the model/hardware flags of `paci simulate` and `paci predict` as a user runs
// them: a real profile of a tiny model written, read back and refused when damaged; the derived
// per-stage costs in --json; a prediction before and after a real (tiny) training run; bad inputs
// exit 2 naming the flag, file or field.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tests/tools/cli_run.h"

namespace {

using paci::testing::CliRun;
using paci::testing::Paci;
const auto& Slurp = paci::testing::ReadWholeFile;

class PredictCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("paci_predict_cli_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  std::filesystem::path dir_;
};

const char* kShape = "--layers 2 --dim 16 --heads 2 --seq 8";

TEST_F(PredictCli, ProfileRoundTripsPredictsAndRefusesBadInput) {
  const std::string prof = Path("p.json"), db = Path("runs.db");
  CliRun r = Paci(std::string("profile ") + kShape +
                  " --microbatch-size 2 --threads 1 --max-seconds-per-layer 0.2 " +
                  "--colocate 2 --colocate-seconds 0.2 -o " + prof);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("co-location: 2 stages"), std::string::npos) << r.out;
  // The file reads back to the same table.
  CliRun shown = Paci("profile --show " + prof);
  ASSERT_EQ(shown.code, 0) << shown.err;
  EXPECT_EQ(shown.out, r.out.substr(0, r.out.rfind("wrote ")));

  // Damaged: a negative time is refused, naming the field.
  std::string text = Slurp(prof);
  const size_t at = text.find("\"backward_input_ns\": ");
  ASSERT_NE(at, std::string::npos);
  const size_t value = at + std::string("\"backward_input_ns\": ").size();
  text = text.substr(0, value) + "-" + text.substr(value);  // (string::insert trips GCC 12's -Wrestrict)
  std::ofstream(Path("bad.json")) << text;
  CliRun bad = Paci("profile --show " + Path("bad.json"));
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("layers[0].backward_input_ns"), std::string::npos) << bad.err;

  // Before the run: from the profile alone, with the co-location model.
  CliRun before = Paci("predict --schedule paci --stages 2 --accum 2 --iterations 3 --profile " + prof +
                       " --colocate --json --db " + db);
  ASSERT_EQ(before.code, 0) << before.err;
  const nlohmann::json b = nlohmann::json::parse(before.out);
  EXPECT_GT(b["predicted"]["makespan_ms"].get<double>(), 0);

  // A real run, then predicted from the profile, linked, with the measured numbers beside.
  CliRun train =
      Paci(std::string("train --schedule paci --stages 2 --accum 2 --updates 3 --eval-batches 1 ") + kShape +
           " --microbatch-size 2 --db " + db);
  ASSERT_EQ(train.code, 0) << train.err;
  CliRun after = Paci("predict --run 2 --profile " + prof + " --colocate --json --db " + db);
  ASSERT_EQ(after.code, 0) << after.err;
  const nlohmann::json a = nlohmann::json::parse(after.out);
  EXPECT_EQ(a["measured_run"], 2);
  EXPECT_GT(a["measured"]["makespan_ms"].get<double>(), 0);
  // The same profile, schedule and split give the same prediction before and after the run.
  EXPECT_DOUBLE_EQ(a["predicted"]["makespan_ms"].get<double>(), b["predicted"]["makespan_ms"].get<double>());
  CliRun from_run = Paci("predict --run 2 --from-run 2 --db " + db);
  EXPECT_EQ(from_run.code, 0) << from_run.err;

  // A profile for another model.
  CliRun other = Paci("predict --schedule paci --stages 2 --accum 2 --profile " + prof + " --db " + db);
  EXPECT_EQ(other.code, 0) << other.err;
  CliRun wrong =
      Paci("simulate --schedule paci --stages 2 --accum 2 --profile " + prof + " --layers 3 --no-db");
  EXPECT_EQ(wrong.code, 2);
  EXPECT_NE(wrong.err.find("model.layers"), std::string::npos) << wrong.err;
  CliRun nocoloc = Paci("predict --schedule paci --stages 2 --accum 2 --colocate --db " + db);
  EXPECT_EQ(nocoloc.code, 2);
  EXPECT_NE(nocoloc.err.find("--colocate"), std::string::npos) << nocoloc.err;
}

// Two profiles back to back in one command: both tables, then each kind's sums side by side with
// their difference, and a verdict against the 3 % tolerance; the first profile is written.
TEST_F(PredictCli, TwoProfilesBackToBackPrintTheirDifferencesPerKind) {
  const std::string prof = Path("p.json");
  CliRun r = Paci(std::string("profile ") + kShape +
                  " --microbatch-size 2 --threads 1 --max-seconds-per-layer 0.1 " +
                  "--colocate 2 --colocate-seconds 0.1 --profiles 2 -o " + prof);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("2 profiles back to back"), std::string::npos) << r.out;
  for (const char* kind : {"forward ", "backward_input ", "backward_weight ", "optimizer ", "forward_cold ",
                           "co-location 2 ", "difference"})
    EXPECT_NE(r.out.find(kind), std::string::npos) << kind << "\n" << r.out;
  const bool agree = r.out.find("the profiles agree within 3%") != std::string::npos;
  const bool differ =
      r.out.find("warning: 2 profiles taken back to back differ by more than 3%") != std::string::npos;
  EXPECT_NE(agree, differ) << r.out;
  EXPECT_NE(r.out.find("repeatability: first against second half"), std::string::npos) << r.out;
  CliRun shown = Paci("profile --show " + prof);
  ASSERT_EQ(shown.code, 0) << shown.err;
  if (differ) {  // the warning is in the written file
    EXPECT_NE(shown.out.find("back to back differ"), std::string::npos) << shown.out;
  }
  CliRun zero = Paci(std::string("profile ") + kShape + " --profiles 0 -o " + prof);
  EXPECT_EQ(zero.code, 2);
  EXPECT_NE(zero.err.find("--profiles"), std::string::npos) << zero.err;
  CliRun show = Paci("profile --show " + prof + " --profiles 2");
  EXPECT_EQ(show.code, 2);
  EXPECT_NE(show.err.find("--profiles"), std::string::npos) << show.err;
}

TEST(ModelFlagsCli, SimulateDerivesPerStageCostsAndRefusesBadInput) {
  CliRun r = Paci(
      "simulate --schedule 1f1b-flush --stages 8 --microbatches 16 --model gpt2-medium --hardware h100 "
      "--link nvlink4 --json --no-db");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["per_stage"].size(), 8u);
  int layers = 0;
  for (const auto& s : j["per_stage"]) {
    for (const char* k : {"layers", "forward_ms", "backward_input_ms", "backward_weight_ms", "optimizer_ms",
                          "activation_bytes", "weight_bytes", "message_bytes"})
      EXPECT_TRUE(s.contains(k)) << k;
    layers += s["layers"].get<int>();
    EXPECT_EQ(s["message_bytes"].get<uint64_t>(), 8u * 1024 * 1024 * 2);  // B*T*C*bf16
  }
  EXPECT_EQ(layers, 26);  // embedding, 24 blocks, head
  EXPECT_GT(j["tokens_per_s"].get<double>(), 0);

  const std::pair<std::string, std::string> bad[] = {
      {"--model gpt5 --hardware h100", "gpt5"},
      {"--model gpt2 --hardware tpu9", "tpu9"},
      {"--model gpt2 --hardware h100 --link smoke-signal", "smoke-signal"},
      {"--model gpt2 --hardware h100 --memory-cap-gb -1", "--memory-cap-gb"},
      {"--model gpt2 --hardware h100 --memory-cap-gb nan", "--memory-cap-gb"},
      {"--model gpt2 --hardware h100 --fwd-ms 2", "--fwd-ms"},
      {"--model gpt2 --hardware h100 --precision fp8", "--precision"},
      {"--model gpt2", "--hardware"},
      {"--model gpt2 --hardware h100 --memory-cap-gb 0.001", "memory cap"},
  };
  for (const auto& [flags, named] : bad) {
    CliRun b = Paci("simulate --schedule paci --stages 4 --accum 4 --no-db " + flags);
    EXPECT_EQ(b.code, 2) << flags;
    EXPECT_NE(b.err.find(named), std::string::npos) << flags << ": " << b.err;
  }
  CliRun sweep = Paci(
      "sweep --schedules paci,zb-h1 --stages 4,8 --accum 8 --model gpt2 --hardware a100 --link ib-ndr "
      "--no-db -o - --format json");
  ASSERT_EQ(sweep.code, 0) << sweep.err;
  const nlohmann::json rows = nlohmann::json::parse(sweep.out);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[1]["per_stage"].size(), 8u);
}

}  // namespace
