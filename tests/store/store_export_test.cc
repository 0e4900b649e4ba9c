// What a user checks of exports and comparisons: the Chrome trace parses as JSON and holds one
// complete event per op, with flows from sends to receives and counter tracks; importing it gives
// back the same run; CSV has one row per op; metrics of a known run are right; a run compared
// with itself has 0% makespan error and zero residuals.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "store/chrome_trace.h"
#include "store/csv_trace.h"
#include "store/run_metrics.h"
#include "store/trace_store.h"
#include "tests/store/store_test_util.h"

namespace paci::store {
namespace {

using google::protobuf::util::MessageDifferencer;
using nlohmann::json;
using testing::GpipeInfo;
using testing::GpipeRun;
using testing::TempDir;

constexpr uint32_t kP = 4;
constexpr uint64_t kM = 8;

RunData StoredGpipeRun(TraceStore& store) {
  auto writer = store.BeginRun(GpipeInfo(kP, kM));
  EXPECT_TRUE(writer.ok());
  for (const auto& e : GpipeRun(kP, kM)) writer->OnOp(e);
  ir::UpdateMetric m;
  m.set_update(0);
  m.set_loss(2.5);
  m.set_val_loss(std::nan(""));
  m.set_tokens(4096);
  writer->OnUpdate(m);
  ir::MemorySample s;
  s.set_stage(1);
  s.set_time_ns(17);
  s.set_live_bytes(999);
  writer->OnMemory(s);
  EXPECT_TRUE(writer->SetMetric("makespan_ns", 335).ok());
  EXPECT_TRUE(writer->Finish(RunStatus::kComplete).ok());
  auto run = store.LoadRun(writer->run_id());
  EXPECT_TRUE(run.ok());
  return std::move(*run);
}

class ExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = TraceStore::Open(dir_.File("paci.db"));
    ASSERT_TRUE(store.ok());
    store_.emplace(std::move(*store));
    run_ = StoredGpipeRun(*store_);
  }
  TempDir dir_;
  std::optional<TraceStore> store_;
  RunData run_;
};

TEST_F(ExportTest, ChromeTraceHasOneCompleteEventPerOpFlowsAndCounters) {
  const json doc = json::parse(ExportChromeTrace(run_));  // throws, failing the test, if not JSON
  ASSERT_TRUE(doc["traceEvents"].is_array());
  std::map<uint64_t, int> x_per_op;
  std::map<std::string, int> by_phase;
  std::set<std::pair<int, int>> threads;
  for (const json& ev : doc["traceEvents"]) {
    const std::string ph = ev["ph"];
    ++by_phase[ph];
    if (ph == "X") {
      ++x_per_op[ev["args"]["op_id"].get<uint64_t>()];
      threads.insert({ev["pid"].get<int>(), ev["tid"].get<int>()});
      EXPECT_GE(ev["dur"].get<double>(), 0);
      for (const char* key : {"stage", "micro_batch", "chunk", "weight_version"})
        EXPECT_TRUE(ev["args"].contains(key)) << key;
    }
  }
  ASSERT_EQ(x_per_op.size(), run_.ops.size());
  for (const auto& e : run_.ops) EXPECT_EQ(x_per_op[e.op_id()], 1) << "op " << e.op_id();
  // Every send in a GPipe run has its receive: P-1 links, M micro-batches, two directions.
  EXPECT_EQ(by_phase["s"], static_cast<int>(2 * (kP - 1) * kM));
  EXPECT_EQ(by_phase["f"], by_phase["s"]);
  EXPECT_GT(by_phase["C"], 0);
  // Every stage sends and receives, and compute, send and recv each have their own track.
  EXPECT_EQ(threads.size(), static_cast<size_t>(3 * kP));
  EXPECT_EQ(doc["metadata"]["paci"]["run"]["spec"]["stages"], kP);
  // Perfetto ignores the rest of a trace after a top-level key it does not know.
  for (const auto& [key, value] : doc.items()) {
    EXPECT_TRUE(key == "traceEvents" || key == "displayTimeUnit" || key == "metadata" || key == "otherData" ||
                key == "systemTraceEvents")
        << key;
  }
}

TEST_F(ExportTest, FlowGoesFromSendToTheMatchingReceive) {
  const json doc = json::parse(ExportChromeTrace(run_));
  std::map<uint64_t, json> starts, finishes;
  for (const json& ev : doc["traceEvents"]) {
    if (ev["ph"] == "s") starts[ev["id"]] = ev;
    if (ev["ph"] == "f") finishes[ev["id"]] = ev;
  }
  std::map<uint64_t, const ir::TraceEvent*> by_id;
  for (const auto& e : run_.ops) by_id[e.op_id()] = &e;
  for (const auto& [id, s] : starts) {
    const ir::TraceEvent& send = *by_id.at(id);
    const json& f = finishes.at(id);
    const int to_stage = f["pid"].get<int>() - 1;
    EXPECT_EQ(to_stage, static_cast<int>(send.stage()) + (send.kind() == ir::SEND_ACTIVATION ? 1 : -1));
    // The arrow ends inside the receive of the same micro-batch on that stage.
    const double ts = f["ts"].get<double>() * 1000;
    bool inside = false;
    for (const auto& e : run_.ops) {
      if (static_cast<int>(e.stage()) == to_stage && e.micro_batch() == send.micro_batch() &&
          (e.kind() == ir::RECV_ACTIVATION || e.kind() == ir::RECV_GRAD) && e.start_ns() <= ts &&
          ts <= e.end_ns()) {
        inside = true;
      }
    }
    EXPECT_TRUE(inside) << "flow " << id;
  }
}

TEST_F(ExportTest, ChromeImportGivesBackTheSameRun) {
  const std::string text = ExportChromeTrace(run_);
  auto imported = ImportChromeTrace(text, "trace.json");
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  auto id = store_->ImportRun(*imported);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  auto back = store_->LoadRun(*id);
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->ops.size(), run_.ops.size());
  for (size_t i = 0; i < run_.ops.size(); ++i)
    EXPECT_TRUE(MessageDifferencer::Equals(back->ops[i], run_.ops[i])) << "op " << i;
  EXPECT_EQ(back->updates.size(), 1u);
  EXPECT_EQ(back->memory.size(), 1u);
  EXPECT_EQ(back->metrics, run_.metrics);
  EXPECT_TRUE(MessageDifferencer::Equals(*back->record.info.schedule, *run_.record.info.schedule));
  EXPECT_TRUE(MessageDifferencer::Equals(*back->record.info.cost_model, *run_.record.info.cost_model));
  EXPECT_EQ(back->record.info.kind, run_.record.info.kind);
  EXPECT_EQ(back->record.status, RunStatus::kComplete);
  EXPECT_EQ(back->record.start_unix_ns, run_.record.start_unix_ns);
  // Exporting the imported run gives the same document but for the run id.
  json a = json::parse(text), b = json::parse(ExportChromeTrace(*back));
  a["metadata"]["paci"]["run"].erase("id");
  b["metadata"]["paci"]["run"].erase("id");
  EXPECT_EQ(a, b);
}

TEST(ChromeImport, RejectsWhatPaciDidNotWrite) {
  EXPECT_FALSE(ImportChromeTrace("not json", "x.json").ok());
  auto st = ImportChromeTrace(R"({"traceEvents": [{"ph": "X", "name": "foo", "ts": 1}]})", "y.json");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find("y.json"), std::string::npos);
}

TEST_F(ExportTest, CsvHasAHeaderAndOneRowPerOp) {
  std::istringstream csv(ExportCsv(run_));
  std::string line;
  std::getline(csv, line);
  EXPECT_EQ(line, "op_id,stage,chunk,micro_batch,kind,lane,start_ns,end_ns,weight_version,live_bytes");
  size_t rows = 0;
  while (std::getline(csv, line)) ++rows;
  EXPECT_EQ(rows, run_.ops.size());
}

TEST_F(ExportTest, MetricsOfAKnownGpipeRun) {
  const RunMetrics m = ComputeRunMetrics(run_);
  // F = 10, B = 20, optimizer 5: makespan (F+B)(M+P-1) + 5; each stage is busy M(F+B) + 5.
  const int64_t makespan = 30 * (kM + kP - 1) + 5;
  const int64_t busy = 30 * kM + 5;
  EXPECT_EQ(m.makespan_ns, makespan);
  ASSERT_EQ(m.stages.size(), kP);
  for (const StageMetrics& s : m.stages) {
    EXPECT_EQ(s.busy_ns, busy) << "stage " << s.stage;
    EXPECT_DOUBLE_EQ(s.bubble_fraction, double(makespan - busy) / makespan);
    ASSERT_TRUE(s.max_drift.has_value());
    EXPECT_EQ(*s.max_drift, static_cast<int64_t>(kM - 1));  // B(n) uses version n-1, F uses 0
    EXPECT_DOUBLE_EQ(s.mean_drift, (kM - 1) / 2.0);
    EXPECT_EQ(s.peak_live_bytes, s.stage == 1 ? 999u : kM * 100);  // stage 1 has a sample
    ASSERT_EQ(s.kinds.size(), 3u) << "stage " << s.stage;  // F, B and OPT; sends and receives are not compute
    EXPECT_EQ(s.kinds.at(ir::FORWARD).count, static_cast<int64_t>(kM));
    EXPECT_EQ(s.kinds.at(ir::FORWARD).median_ns, 10);
    EXPECT_EQ(s.kinds.at(ir::BACKWARD).median_ns, 20);
    EXPECT_EQ(s.kinds.at(ir::OPTIMIZER_STEP).count, 1);
    EXPECT_EQ(s.kinds.at(ir::OPTIMIZER_STEP).median_ns, 5);
  }
}

// A kind's time is the median of its ops: one forward that lost its CPU for a long time does not
// move it, where a mean would.
TEST_F(ExportTest, KindTimeIsTheMedianOfTheStagesOps) {
  RunData run = run_;
  for (auto& e : run.ops)
    if (e.stage() == 0 && e.kind() == ir::FORWARD) {
      e.set_end_ns(e.start_ns() + 1000000);
      break;
    }
  const RunMetrics m = ComputeRunMetrics(run);
  EXPECT_EQ(m.stages[0].kinds.at(ir::FORWARD).median_ns, 10);
  for (auto& e : run.ops)  // now every forward of stage 0 but one takes 30 ns
    if (e.stage() == 0 && e.kind() == ir::FORWARD && e.end_ns() - e.start_ns() == 10)
      e.set_end_ns(e.start_ns() + 30);
  EXPECT_EQ(ComputeRunMetrics(run).stages[0].kinds.at(ir::FORWARD).median_ns, 30);
  EXPECT_EQ(ComputeRunMetrics(run).stages[1].kinds.at(ir::FORWARD).median_ns, 10);
}

TEST_F(ExportTest, RunComparedWithItselfHasZeroError) {
  const RunComparison c = CompareRuns(run_, run_);
  EXPECT_EQ(c.makespan_error_pct, 0.0);
  ASSERT_TRUE(c.same_ops) << c.why_no_residuals;
  EXPECT_EQ(c.summary.count, static_cast<int64_t>(run_.ops.size()));
  EXPECT_EQ(c.summary.max_abs_start_ns, 0);
  EXPECT_EQ(c.summary.max_abs_duration_ns, 0);
}

TEST_F(ExportTest, ComparisonSeesASlowerRun) {
  RunData slow = run_;
  for (auto& e : slow.ops) {  // every op twice as long and twice as late
    e.set_start_ns(2 * e.start_ns());
    e.set_end_ns(2 * e.end_ns());
  }
  const RunComparison c = CompareRuns(run_, slow);
  EXPECT_DOUBLE_EQ(c.makespan_error_pct, -50.0);
  ASSERT_TRUE(c.same_ops);
  EXPECT_GT(c.summary.max_abs_start_ns, 0);
  EXPECT_GT(c.summary.mean_abs_duration_ns, 0);
  RunData other = run_;
  other.ops.pop_back();
  EXPECT_FALSE(CompareRuns(run_, other).same_ops);
}

}  // namespace
}  // namespace paci::store
