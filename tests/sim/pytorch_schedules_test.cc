// Schedules written by PyTorch (tests/sim/pytorch/, origin in its README), read and simulated:
// a compute-only file gets the cross-stage dependencies PyTorch's runtime gives it, and files
// with PyTorch's older backward names (B = input gradient, BW = full backward) read the same as
// files with the current ones.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <map>
#include <optional>
#include <tuple>
#include <cstdint>
#include <string>
#include <vector>

#include "sched/expanded_schedule.h"
#include "sched/op_messages.h"
#include "sched/schedule_csv.h"
#include "sched/schedule_io.h"
#include "sched/schedule_validator.h"
#include "sim/simulator.h"
#include "sim_test_util.h"

namespace paci::sim {
namespace {

using simtest::kMs;

ir::Schedule Read(const std::string& name, bool lower = true) {
  ScheduleReadOptions options;
  options.csv.lower_compute_only = lower;
  Result<ir::Schedule> s = ReadScheduleFile(std::string(PYTORCH_ARTIFACTS) + "/" + name, options);
  EXPECT_TRUE(s.ok()) << name << ": " << s.status().message();
  if (!s.ok()) return {};
  const Status valid = ValidateSchedule(*s);
  EXPECT_TRUE(valid.ok()) << name << ": " << valid.message();
  return *s;
}

// Compute ops per rank in order, comm ops and optimizer steps left out.
std::vector<std::vector<std::string>> ComputeOps(const ir::Schedule& s) {
  std::vector<std::vector<std::string>> out;
  for (const auto& stage : ExpandSchedule(s)) {
    auto& row = out.emplace_back();
    for (const PlainOp& op : stage)
      if (!IsSend(op.kind) && !IsRecv(op.kind) && op.kind != ir::OPTIMIZER_STEP)
        row.push_back(std::to_string(op.chunk) + ":" + std::to_string(op.kind) + ":" + std::to_string(op.micro_batch));
  }
  return out;
}

// Every compute op of a simulated run, keyed by (virtual stage, kind, micro-batch).
struct ComputeTimes : TraceSink {
  uint32_t P = 1;
  std::map<std::tuple<uint32_t, int, uint64_t>, std::pair<int64_t, int64_t>> ops;  // start, end
  std::vector<int64_t> first = std::vector<int64_t>(2, INT64_MAX);                 // per rank
  void OnOp(const ir::TraceEvent& e) override {
    if (e.lane() != ir::LANE_COMPUTE || IsSend(e.kind()) || IsRecv(e.kind()) || e.kind() == ir::OPTIMIZER_STEP) return;
    ops[{e.chunk() * P + e.stage(), e.kind(), e.micro_batch()}] = {e.start_ns(), e.end_ns()};
    if (e.stage() < first.size()) first[e.stage()] = std::min(first[e.stage()], e.start_ns());
  }
};

ComputeTimes Play(const ir::Schedule& s, const ir::CostModel& cost) {
  ComputeTimes t;
  t.P = s.spec().stages();
  SimulationOptions o;
  o.sink = &t;
  EXPECT_TRUE(Simulate(s, cost, o).ok());
  return t;
}

// Number of data dependencies (F after the previous virtual stage's F; the input gradient after
// the next virtual stage's) that the run breaks: an op that starts before its producer ended.
int BrokenDependencies(const ComputeTimes& t, uint32_t virtual_stages) {
  auto end_of = [&](uint32_t v, std::initializer_list<int> kinds, uint64_t mb) -> std::optional<int64_t> {
    for (int k : kinds)
      if (auto it = t.ops.find({v, k, mb}); it != t.ops.end()) return it->second.second;
    return std::nullopt;
  };
  int broken = 0;
  for (const auto& [key, times] : t.ops) {
    const auto& [v, kind, mb] = key;
    std::optional<int64_t> producer;
    if (kind == ir::FORWARD && v > 0) producer = end_of(v - 1, {ir::FORWARD}, mb);
    if ((kind == ir::BACKWARD_INPUT || kind == ir::BACKWARD) && v + 1 < virtual_stages)
      producer = end_of(v + 1, {ir::BACKWARD_INPUT, ir::BACKWARD}, mb);
    if (producer && times.first < *producer) ++broken;
  }
  return broken;
}

TEST(PyTorchSchedules, ComputeOnlyZb1pGetsItsDependencies) {
  const ir::Schedule s = Read("zb1p_2rank_2stagep_compute.csv");
  EXPECT_EQ(s.spec().stages(), 2u);
  EXPECT_EQ(s.spec().chunks(), 2u);
  EXPECT_EQ(s.spec().total_microbatches(), 8u);
  const ir::CostModel cost = simtest::Cost(1, 1, 1);  // per stage; each of the V = 2 chunks takes half
  const ComputeTimes lowered = Play(s, cost);
  EXPECT_EQ(lowered.ops.size(), 4u * 8u * 3u);  // F, I, W of 8 micro-batches on 4 virtual stages
  EXPECT_EQ(BrokenDependencies(lowered, 4), 0);
  // Rank 1 starts with stage 1's forward of micro-batch 0, after rank 0's first forward ended.
  EXPECT_EQ(lowered.first[0], 0);
  EXPECT_EQ(lowered.first[1], kMs / 2);
  // Read as written (the old behaviour), rank 1 starts at time 0, before its input exists.
  const ComputeTimes as_written = Play(Read("zb1p_2rank_2stagep_compute.csv", false), cost);
  EXPECT_EQ(as_written.first[1], 0);
  EXPECT_GT(BrokenDependencies(as_written, 4), 0);
}

// The comms file's compute actions alone (rows of the CSV without SEND/RECV cells).
std::string ComputeCellsOf(const std::string& name) {
  std::ifstream in(std::string(PYTORCH_ARTIFACTS) + "/" + name);
  std::string line, out;
  while (std::getline(in, line)) {
    std::stringstream cells(line);
    std::string cell, row;
    while (std::getline(cells, cell, ','))
      if (cell.find("SEND") == std::string::npos && cell.find("RECV") == std::string::npos)
        row += (row.empty() ? "" : ",") + cell;
    out += row + "\n";
  }
  return out;
}

TEST(PyTorchSchedules, PyTorchsOwnLoweringPlaysLikeOurs) {
  // PyTorch lowered the compute artifact to the comms artifact: it fused each I directly followed
  // by its W into one B (rank 0) and added SEND/RECV. Played as PyTorch's runtime plays it (a
  // RECV waits at its consumer), it takes exactly as long as our lowering of the same compute ops.
  const ir::Schedule comms = Read("zb1p_2rank_2stagep_comms.csv");
  Result<ir::Schedule> ours = ParseScheduleCsv(ComputeCellsOf("zb1p_2rank_2stagep_comms.csv"), {}, "compute cells");
  ASSERT_TRUE(ours.ok()) << ours.status().message();
  ASSERT_TRUE(ValidateSchedule(*ours).ok()) << ValidateSchedule(*ours).message();
  for (const ir::CostModel& cost : {simtest::Cost(1, 1, 1), simtest::Cost(1, 2, 1)}) {
    const ComputeTimes theirs = Play(comms, cost);
    EXPECT_EQ(BrokenDependencies(theirs, 4), 0);
    EXPECT_EQ(theirs.first[1], kMs / 2);
    Result<SimulationResult> a = Simulate(comms, cost), b = Simulate(*ours, cost);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->makespan_ns, b->makespan_ns);
  }
}

TEST(PyTorchSchedules, OldBackwardNamesReadAsTheNewOnes) {
  EXPECT_EQ(ComputeOps(Read("zb1p_2rank_2stagep_compute_oldnames.csv")),
            ComputeOps(Read("zb1p_2rank_2stagep_compute.csv")));
  EXPECT_EQ(ComputeOps(Read("zb1p_2rank_2stagep_comms_oldnames.csv")),
            ComputeOps(Read("zb1p_2rank_2stagep_comms.csv")));
}

TEST(PyTorchSchedules, MixedBackwardNamesAreRefusedWithHowToConvert) {
  // Old-style B beside W for micro-batch 0, new-style I for micro-batch 1.
  Result<ir::Schedule> s = ParseScheduleCsv("0F0,0F1,0B0,0W0,0I1,0W1\n1F0,1B0,1F1,1B1\n", {}, "mixed.csv");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("mixed.csv"), std::string::npos) << s.status().message();
  EXPECT_NE(s.status().message().find("BW -> B"), std::string::npos) << s.status().message();
}

}  // namespace
}  // namespace paci::sim
