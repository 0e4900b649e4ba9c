// Schedules written by PyTorch (tests/sim/pytorch/, origin in its README), read and simulated:
// a compute-only file gets the cross-stage dependencies PyTorch's runtime gives it, and files
// with PyTorch's older backward names (B = input gradient, BW = full backward) read the same as
// files with the current ones.
#include <gtest/gtest.h>

#include <algorithm>
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

// Earliest start of a compute op on each rank.
std::vector<int64_t> FirstComputeStart(const ir::Schedule& s, const ir::CostModel& cost) {
  struct Sink : TraceSink {
    std::vector<int64_t> first = std::vector<int64_t>(2, INT64_MAX);
    void OnOp(const ir::TraceEvent& e) override {
      const bool compute = e.lane() == ir::LANE_COMPUTE && !IsSend(e.kind()) && !IsRecv(e.kind());
      if (compute && e.stage() < first.size()) first[e.stage()] = std::min(first[e.stage()], e.start_ns());
    }
  } sink;
  SimulationOptions o;
  o.sink = &sink;
  EXPECT_TRUE(Simulate(s, cost, o).ok());
  return sink.first;
}

TEST(PyTorchSchedules, ComputeOnlyZb1pGetsItsDependencies) {
  const ir::Schedule s = Read("zb1p_2rank_2stagep_compute.csv");
  EXPECT_EQ(s.spec().stages(), 2u);
  EXPECT_EQ(s.spec().chunks(), 2u);
  EXPECT_EQ(s.spec().total_microbatches(), 8u);
  const ir::CostModel cost = simtest::Cost(1, 1, 1);
  // Rank 1's first op is stage 1's forward of micro-batch 0: it cannot start before rank 0's
  // first forward has finished (1 ms).
  const std::vector<int64_t> first = FirstComputeStart(s, cost);
  EXPECT_EQ(first[0], 0);
  EXPECT_GE(first[1], 1 * kMs);
  // Read without its dependencies (the old behaviour), rank 1 starts at time 0 and the run is
  // shorter than it can be.
  const std::vector<int64_t> unlowered = FirstComputeStart(Read("zb1p_2rank_2stagep_compute.csv", false), cost);
  EXPECT_EQ(unlowered[1], 0);
}

TEST(PyTorchSchedules, ComputeOnlyPlaysLikePyTorchsOwnLowering) {
  // PyTorch lowered the same schedule to the comms artifact (merging I+W pairs into B on rank 0).
  const ir::Schedule compute = Read("zb1p_2rank_2stagep_compute.csv");
  const ir::Schedule comms = Read("zb1p_2rank_2stagep_comms.csv");
  for (const ir::CostModel& cost : {simtest::Cost(1, 1, 1), simtest::Cost(1, 2, 1)}) {
    Result<SimulationResult> a = Simulate(compute, cost), b = Simulate(comms, cost);
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
