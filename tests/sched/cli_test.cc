// `paci schedule` as a user runs it: the acceptance command, exit code 2 for unknown names
// and impossible combinations, and files written by one call loaded by the next.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
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

TEST(ScheduleCli, AcceptancePaciAnalysis) {
  const CliRun r = Paci("schedule --schedule paci --stages 8 --accum 4 --analyze --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  std::vector<int> max_drift, inflight;
  for (const auto& s : j.at("per_stage")) {
    max_drift.push_back(s.at("max_drift"));
    inflight.push_back(s.at("peak_inflight"));
    EXPECT_TRUE(s.contains("stage") && s.contains("mean_drift") && s.contains("weight_versions") &&
                s.contains("histogram"));
  }
  EXPECT_EQ(max_drift, (std::vector<int>{2, 2, 2, 1, 1, 1, 1, 0}));
  EXPECT_EQ(inflight, (std::vector<int>{8, 7, 6, 5, 4, 3, 2, 1}));
}

TEST(ScheduleCli, PipedreamWeightVersions) {
  const CliRun r = Paci("schedule --schedule pipedream --stages 8 --analyze --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<int> versions;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  for (const auto& s : j.at("per_stage")) versions.push_back(s.at("weight_versions"));
  EXPECT_EQ(versions, (std::vector<int>{8, 7, 6, 5, 4, 3, 2, 1}));
}

// Gradient staleness (updates between the oldest weights a gradient saw, its forward's, and the
// version its optimizer step updates) next to drift: 2BW crosses no version but every gradient is
// one update old; PipeDream's stash hides P-1-s updates of staleness; PACI's equals its drift.
TEST(ScheduleCli, AnalyzeReportsGradientStalenessBesideDrift) {
  const auto per_stage = [](const std::string& flags, const char* key) {
    const CliRun r = Paci("schedule " + flags + " --analyze --format json");
    EXPECT_EQ(r.code, 0) << r.err;
    const nlohmann::json j = nlohmann::json::parse(r.out);
    std::vector<int> out;
    for (const auto& s : j.at("per_stage")) out.push_back(s.at(key));
    return out;
  };
  const std::string two_bw = "--schedule pipedream-2bw --stages 8 --accum 8 --updates 6";
  EXPECT_EQ(per_stage(two_bw, "gradient_staleness"), std::vector<int>(8, 1));
  EXPECT_EQ(per_stage(two_bw, "max_drift"), std::vector<int>(8, 0));
  const std::string pipedream = "--schedule pipedream --stages 8 --updates 24";
  EXPECT_EQ(per_stage(pipedream, "gradient_staleness"), (std::vector<int>{7, 6, 5, 4, 3, 2, 1, 0}));
  EXPECT_EQ(per_stage(pipedream, "max_drift"), std::vector<int>(8, 0));
  const std::string paci = "--schedule paci --stages 8 --accum 4 --updates 6";
  EXPECT_EQ(per_stage(paci, "gradient_staleness"), (std::vector<int>{2, 2, 2, 1, 1, 1, 1, 0}));
  EXPECT_EQ(per_stage("--schedule 1f1b-flush --stages 8 --accum 8 --updates 3", "gradient_staleness"),
            std::vector<int>(8, 0));
  const CliRun table = Paci("schedule " + two_bw + " --analyze");
  EXPECT_NE(table.out.find("grad_stale"), std::string::npos) << table.out;
}

TEST(ScheduleCli, BadNamesAndCombinationsExitTwo) {
  for (const char* args : {
           "schedule --schedule nope --stages 4",
           "schedule --schedule interleaved-1f1b --stages 4 --microbatches 6",
           "schedule --schedule pipedream --stages 4 --accum 4",
           "schedule --schedule pipedream-2bw --stages 8 --accum 4",
           "schedule --schedule paci --stages 4 --chunks 2",
           "schedule --schedule gpipe --stages 0",
           "schedule --schedule paci --stages 4 --window 4,3",
           "schedule --schedule gpipe --stages 4 --format svg",
           "schedule --stages 4",
       }) {
    const CliRun r = Paci(args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
    EXPECT_FALSE(r.err.empty()) << args;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n') <= 2, true) << args << "\n" << r.err;
  }
}

TEST(ScheduleCli, EveryFormatPrints) {
  for (const char* format : {"text", "grid", "json", "csv", "proto"}) {
    const CliRun r = Paci(std::string("schedule --schedule 1f1b-flush --stages 4 --microbatches 8 --format ") + format);
    EXPECT_EQ(r.code, 0) << format << ": " << r.err;
    EXPECT_FALSE(r.out.empty()) << format;
  }
  const CliRun grid = Paci("schedule --schedule 1f1b-flush --stages 4 --microbatches 8 --format grid");
  EXPECT_NE(grid.out.find("makespan 33"), std::string::npos) << grid.out;
  const CliRun table = Paci("schedule --schedule paci --stages 4 --accum 2 --analyze");
  EXPECT_NE(table.out.find("max_drift"), std::string::npos) << table.out;
}

TEST(ScheduleCli, WrittenFilesLoadBack) {
  const auto dir = std::filesystem::temp_directory_path() / ("paci_cli_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  for (const char* ext : {"txt", "json", "pb", "csv"}) {
    const std::string path = (dir / (std::string("s.") + ext)).string();
    const std::string format = std::string(ext) == "txt" ? "text" : std::string(ext) == "pb" ? "proto" : ext;
    const CliRun w = Paci("schedule --schedule zb-h1 --stages 4 --microbatches 8 --format " + format + " -o " + path);
    ASSERT_EQ(w.code, 0) << w.err;
    const CliRun r = Paci("schedule --schedule zb-h1 --input " + path + " --analyze --format json");
    EXPECT_EQ(r.code, 0) << ext << ": " << r.err;
  }
  std::ofstream(dir / "bad.txt") << "stage 0 stash: 0F1 0B1\nstage 1 stash: 1B1 1F1\n";
  const CliRun bad = Paci("schedule --input " + (dir / "bad.txt").string());
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("bad.txt"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("stage 1: op 1B1 (id 2)"), std::string::npos) << bad.err;
  std::filesystem::remove_all(dir);
}

}  // namespace
