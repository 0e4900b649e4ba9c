// The store subcommands as a user types them: `paci export` output parses and has one complete
// event per op, `paci compare` of a run with itself says 0% error, `paci import` brings an export
// back unchanged, `paci runs` lists and deletes, and bad input exits 2 naming the culprit.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "store/trace_store.h"
#include "tests/store/store_test_util.h"

namespace paci::store {
namespace {

using nlohmann::json;
using testing::GpipeInfo;
using testing::GpipeRun;
using testing::ReadBytes;
using testing::TempDir;
using testing::WriteBytes;

struct Outcome {
  int code = -1;
  std::string out, err;
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_.File("paci.db");
    auto store = TraceStore::Open(db_);
    ASSERT_TRUE(store.ok());
    auto writer = store->BeginRun(GpipeInfo(4, 8));
    ASSERT_TRUE(writer.ok());
    for (const auto& e : GpipeRun(4, 8)) writer->OnOp(e);
    ASSERT_TRUE(writer->Finish(RunStatus::kComplete).ok());
    id_ = writer->run_id();
  }

  // Runs `paci ARGS` and captures exit code, standard output and standard error.
  Outcome Paci(const std::string& args) {
    const std::string err_file = dir_.File("stderr.txt");
    const std::string cmd = std::string(PACI_BINARY) + " " + args + " 2>" + err_file;
    Outcome o;
    FILE* p = popen(cmd.c_str(), "r");
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof(buf), p)) > 0;) o.out.append(buf, n);
    const int status = pclose(p);
    o.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    o.err = ReadBytes(err_file);
    return o;
  }

  std::string Db() const { return " --db " + db_; }

  TempDir dir_;
  std::string db_;
  int64_t id_ = 0;
};

TEST_F(CliTest, ExportChromeHasOneCompleteEventPerOp) {
  Outcome o = Paci(fmt::format("export --run {} --format chrome", id_) + Db());
  ASSERT_EQ(o.code, 0) << o.err;
  const json doc = json::parse(o.out);
  size_t complete = 0;
  for (const json& ev : doc["traceEvents"]) complete += ev["ph"] == "X";
  EXPECT_EQ(complete, GpipeRun(4, 8).size());
  const std::string file = dir_.File("trace.json");
  ASSERT_EQ(Paci(fmt::format("export --run {} -o {}", id_, file) + Db()).code, 0);
  EXPECT_EQ(ReadBytes(file), o.out);
}

TEST_F(CliTest, ExportCsvHasOneRowPerOp) {
  Outcome o = Paci(fmt::format("export --run {} --format csv", id_) + Db());
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(static_cast<size_t>(std::count(o.out.begin(), o.out.end(), '\n')), GpipeRun(4, 8).size() + 1);
}

TEST_F(CliTest, CompareWithItselfReportsZeroError) {
  Outcome o = Paci(fmt::format("compare {} {}", id_, id_) + Db());
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_NE(o.out.find("error +0.00%"), std::string::npos) << o.out;
  Outcome j = Paci(fmt::format("compare {} {} --json", id_, id_) + Db());
  ASSERT_EQ(j.code, 0) << j.err;
  const json doc = json::parse(j.out);
  EXPECT_EQ(doc["makespan_error_pct"].get<double>(), 0.0);
  EXPECT_EQ(doc["residuals"]["max_abs_start_ns"].get<double>(), 0.0);
  EXPECT_EQ(doc["a"]["stages"].size(), 4u);
  EXPECT_FALSE(doc["a"]["stages"][0].contains("kinds"));
}

// --by-kind lists each stage's median time per op kind in both runs and their ratio, in the table
// and in the JSON.
TEST_F(CliTest, CompareByKindListsEachStagesOpKinds) {
  Outcome o = Paci(fmt::format("compare {} {} --by-kind", id_, id_) + Db());
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_NE(o.out.find("kind"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find(fmt::format("{} / {}", id_, id_)), std::string::npos) << o.out;
  EXPECT_EQ(static_cast<size_t>(std::count(o.out.begin(), o.out.end(), '\n')), (1 + 4 + 1) + (1 + 4 * 3) + 2)
      << o.out;
  EXPECT_NE(o.out.find("1.000"), std::string::npos) << o.out;
  Outcome j = Paci(fmt::format("compare {} {} --json --by-kind", id_, id_) + Db());
  ASSERT_EQ(j.code, 0) << j.err;
  const json doc = json::parse(j.out);
  const json& kinds = doc["b"]["stages"][3]["kinds"];
  ASSERT_EQ(kinds.size(), 3u) << kinds;
  EXPECT_EQ(kinds[0]["kind"], "F");
  EXPECT_EQ(kinds[0]["count"], 8);
  EXPECT_GT(kinds[0]["median_ns"].get<int64_t>(), 0);
}

TEST_F(CliTest, ImportBringsBackTheExport) {
  const std::string file = dir_.File("trace.json");
  ASSERT_EQ(Paci(fmt::format("export --run {} -o {}", id_, file) + Db()).code, 0);
  Outcome o = Paci("import --format chrome " + file + Db());
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_NE(o.out.find(fmt::format("imported run {}", id_ + 1)), std::string::npos) << o.out;
  json a = json::parse(ReadBytes(file));
  json b = json::parse(Paci(fmt::format("export --run {}", id_ + 1) + Db()).out);
  a["metadata"]["paci"]["run"].erase("id");
  b["metadata"]["paci"]["run"].erase("id");
  EXPECT_EQ(a, b);
  Outcome c = Paci(fmt::format("compare {} {}", id_ + 1, id_) + Db());
  EXPECT_NE(c.out.find("error +0.00%"), std::string::npos) << c.out;
}

TEST_F(CliTest, RunsListShowDelete) {
  Outcome list = Paci("runs list" + Db());
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_NE(list.out.find("predicted"), std::string::npos);
  EXPECT_NE(list.out.find("complete"), std::string::npos);
  Outcome show = Paci(fmt::format("runs show {}", id_) + Db());
  ASSERT_EQ(show.code, 0) << show.err;
  EXPECT_NE(show.out.find("gpipe P=4"), std::string::npos) << show.out;
  ASSERT_EQ(Paci(fmt::format("runs delete {}", id_) + Db()).code, 0);
  Outcome gone = Paci(fmt::format("runs show {}", id_) + Db());
  EXPECT_EQ(gone.code, 2);
}

TEST_F(CliTest, BadInputExitsTwoNamingTheCulprit) {
  Outcome no_run = Paci("export --run 99" + Db());
  EXPECT_EQ(no_run.code, 2);
  EXPECT_NE(no_run.err.find("no run 99"), std::string::npos) << no_run.err;
  EXPECT_EQ(std::count(no_run.err.begin(), no_run.err.end(), '\n'), 1) << no_run.err;

  const std::string garbage = dir_.File("garbage.db");
  WriteBytes(garbage, std::string(4096, '\x5a'));
  Outcome bad_db = Paci("runs list --db " + garbage);
  EXPECT_EQ(bad_db.code, 2);
  EXPECT_NE(bad_db.err.find(garbage), std::string::npos) << bad_db.err;
  EXPECT_EQ(ReadBytes(garbage), std::string(4096, '\x5a'));

  Outcome missing = Paci("runs list --db " + dir_.File("missing.db"));
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("missing.db"), std::string::npos) << missing.err;

  Outcome format = Paci(fmt::format("export --run {} --format svg", id_) + Db());
  EXPECT_EQ(format.code, 2);
  EXPECT_NE(format.err.find("--format"), std::string::npos) << format.err;

  Outcome not_trace = Paci("import " + garbage + Db());
  EXPECT_EQ(not_trace.code, 2);
  EXPECT_NE(not_trace.err.find(garbage), std::string::npos) << not_trace.err;
}

// A long simulation is kept by its IR (ops re-simulated when read): export and compare give the
// same ops as `--keep-ops`, summary fills every column of a simulated run, and the run list
// shows the configuration columns.
TEST_F(CliTest, LongSimulationIsReplayedAndSummarised) {
  const std::string sim =
      "simulate --schedule paci --stages 4 --accum 4 --microbatches 12000 "
      "--jitter 0.2 --seed 5 --activation-mb 1 --weights-mb 8";
  Outcome compact = Paci(sim + Db());
  ASSERT_EQ(compact.code, 0) << compact.err;
  EXPECT_NE(compact.out.find("re-simulated when read"), std::string::npos) << compact.out;
  Outcome whole = Paci(sim + " --keep-ops" + Db());
  ASSERT_EQ(whole.code, 0) << whole.err;
  EXPECT_EQ(whole.out.find("re-simulated"), std::string::npos) << whole.out;
  const int64_t c = id_ + 1, w = id_ + 2;
  Outcome cmp = Paci(fmt::format("compare {} {} --json", c, w) + Db());
  ASSERT_EQ(cmp.code, 0) << cmp.err;
  const json doc = json::parse(cmp.out);
  EXPECT_TRUE(doc["same_ops"].get<bool>());
  EXPECT_GT(doc["residuals"]["count"].get<int64_t>(), 100000);
  EXPECT_EQ(doc["residuals"]["max_abs_start_ns"].get<double>(), 0.0);
  EXPECT_EQ(doc["residuals"]["max_abs_duration_ns"].get<double>(), 0.0);
  Outcome csv_c = Paci(fmt::format("export --run {} --format csv", c) + Db());
  Outcome csv_w = Paci(fmt::format("export --run {} --format csv", w) + Db());
  ASSERT_EQ(csv_c.code, 0) << csv_c.err;
  EXPECT_EQ(csv_c.out, csv_w.out);

  // A simulation has no learning rate and no validation loss, and without a model no tokens per
  // micro-batch, so tokens/s reads "-" (not 0); with a model every other column has a value
  // (ms/update, drift and memory per stage included).
  Outcome modelled = Paci(
      "simulate --schedule paci --stages 4 --accum 4 --updates 3 --model gpt2 "
      "--hardware h100 --link nvlink4 --jitter 0.1 --seed 2" +
      Db());
  ASSERT_EQ(modelled.code, 0) << modelled.err;
  for (const auto& [run, expected_dashes] : {std::pair{c, 3}, std::pair{w + 1, 2}}) {
    Outcome summary = Paci(fmt::format("summary {}", run) + Db());
    ASSERT_EQ(summary.code, 0) << summary.err;
    std::istringstream row(summary.out.substr(summary.out.find('\n') + 1));
    int dashes = 0;
    for (std::string token; row >> token;) {
      dashes += token == "-";
      EXPECT_EQ(token.find(",-"), std::string::npos) << summary.out;
      EXPECT_NE(token.rfind("-,", 0), 0u) << summary.out;
      EXPECT_NE(token, "0") << summary.out;  // no unknown speed or memory printed as zero
    }
    EXPECT_EQ(dashes, expected_dashes) << summary.out;
  }
  Outcome list = Paci("runs list" + Db());
  ASSERT_EQ(list.code, 0) << list.err;
  for (const char* column : {" K ", " lr ", " seed "}) {
    EXPECT_NE(list.out.find(column), std::string::npos) << column << "\n" << list.out;
  }
  EXPECT_NE(list.out.find(" r "), std::string::npos) << list.out;  // ops marked replayed
}

TEST_F(CliTest, KeepOpsWithoutAStoreIsRefused) {
  Outcome o = Paci("simulate --schedule paci --stages 2 --no-db --keep-ops");
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("--keep-ops"), std::string::npos) << o.err;
}

}  // namespace
}  // namespace paci::store
