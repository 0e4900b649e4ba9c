// FitCostModel recovers the cost model that produced a trace: simulate with known costs, fit
// from the simulated trace, and the fitted per-stage times and link latency are the originals,
// so replaying the fitted model reproduces the makespan exactly.
#include <gtest/gtest.h>

#include "proto/trace_sink.h"
#include "sched/schedule_generator.h"
#include "sim/cost_model_fit.h"
#include "sim/simulator.h"
#include "sim/stage_cost_model.h"

namespace paci::sim {
namespace {

ir::Schedule Make(ir::ScheduleKind kind, uint32_t P, uint32_t M, uint32_t K, uint32_t V = 0) {
  ir::PipelineSpec spec;
  spec.set_kind(kind);
  spec.set_stages(P);
  spec.set_microbatches_per_iteration(M);
  spec.set_accum(K);
  spec.set_chunks(V);
  Result<ir::Schedule> s = GenerateSchedule(spec);
  EXPECT_TRUE(s.ok()) << s.status().message();
  return *s;
}

void ExpectRoundTrip(const ir::Schedule& schedule, const ir::CostModel& truth) {
  VectorTraceSink sink;
  SimulationOptions opt;
  opt.sink = &sink;
  Result<SimulationResult> original = Simulate(schedule, truth, opt);
  ASSERT_TRUE(original.ok()) << original.status().message();
  Result<ir::CostModel> fitted = FitCostModel(schedule, sink.ops, truth);
  ASSERT_TRUE(fitted.ok()) << fitted.status().message();
  for (int s = 0; s < fitted->stages_size(); ++s) {
    const ir::StageCost& want = truth.stages(std::min(s, truth.stages_size() - 1));
    const ir::StageCost& got = fitted->stages(s);
    EXPECT_EQ(got.forward_ns(), want.forward_ns()) << "stage " << s;
    EXPECT_EQ(got.backward_input_ns() + got.backward_weight_ns(),
              want.backward_input_ns() + want.backward_weight_ns()) << "stage " << s;
    EXPECT_EQ(got.optimizer_ns(), want.optimizer_ns()) << "stage " << s;
  }
  Result<SimulationResult> replay = Simulate(schedule, *fitted);
  ASSERT_TRUE(replay.ok());
  EXPECT_EQ(replay->makespan_ns, original->makespan_ns);
}

TEST(CostModelFit, RecoversTimesOfPaciAndFlush) {
  UniformCost u;
  u.fwd_ms = 1.5;
  u.bwd_ms = 3.0;
  u.opt_ms = 0.25;
  for (ir::ScheduleKind kind : {ir::PACI, ir::ONE_F_ONE_B_FLUSH, ir::GPIPE})
    ExpectRoundTrip(Make(kind, 4, 8, 4), MakeCostModel(u));
}

TEST(CostModelFit, RecoversPerStageTimesAndLatency) {
  ir::CostModel cost;
  for (int s = 0; s < 3; ++s) {
    ir::StageCost& c = *cost.add_stages();
    c.set_forward_ns(1'000'000 * (s + 1));
    c.set_backward_input_ns(2'000'000 + 100'000 * s);
  }
  cost.add_links()->set_latency_ns(50'000);
  const ir::Schedule schedule = Make(ir::PACI, 3, 0, 3);
  VectorTraceSink sink;
  SimulationOptions opt;
  opt.sink = &sink;
  ASSERT_TRUE(Simulate(schedule, cost, opt).ok());
  Result<ir::CostModel> fitted = FitCostModel(schedule, sink.ops, cost);
  ASSERT_TRUE(fitted.ok());
  ASSERT_EQ(fitted->links_size(), 1);
  EXPECT_EQ(fitted->links(0).latency_ns(), 50'000);
  EXPECT_EQ(fitted->stages(2).forward_ns(), 3'000'000);
}

TEST(CostModelFit, InterleavedChunksScaleBackToStageCost) {
  UniformCost u;
  u.fwd_ms = 2.0;
  u.bwd_ms = 4.0;
  ExpectRoundTrip(Make(ir::INTERLEAVED_1F1B, 2, 4, 0, 2), MakeCostModel(u));
}

TEST(CostModelFit, ATraceWithoutForwardsIsAnError) {
  const ir::Schedule schedule = Make(ir::PACI, 2, 0, 2);
  Result<ir::CostModel> fitted = FitCostModel(schedule, {}, ir::CostModel());
  ASSERT_FALSE(fitted.ok());
  EXPECT_NE(fitted.status().message().find("no forward"), std::string::npos);
}

}  // namespace
}  // namespace paci::sim
