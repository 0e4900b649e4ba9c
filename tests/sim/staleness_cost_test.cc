// A staleness compensation's cost in the simulator (sim/staleness_cost.h): the extra time on a
// hand-checked cost model, the one-layer estimate in the simulated peak, the refusals where a
// compensation does not apply, and compensated rows of a sweep. Real schedules, no mock.
#include "sim/staleness_cost.h"

#include <gtest/gtest.h>

#include "sched/schedule_generator.h"
#include "sim/sweep.h"
#include "tests/sim/sim_test_util.h"

namespace paci::sim {
namespace {

using simtest::kMs;

ir::Schedule Generate(ir::ScheduleKind kind, uint32_t P, uint32_t K) {
  Result<ir::PipelineSpec> spec = SweepSpec(kind, P, K, 0, 1);
  EXPECT_TRUE(spec.ok()) << spec.status().message();
  Result<ir::Schedule> s = GenerateSchedule(*spec);
  EXPECT_TRUE(s.ok()) << s.status().message();
  return *s;
}

// F 1 ms, B 2 ms, optimizer 0.7 ms: one float per parameter is 0.1 ms. 8 MiB of weights in 4 layers.
ir::CostModel HandCost() {
  ir::CostModel cost = simtest::Cost(1, 2, 0, 0.7);
  ir::StageCost& c = *cost.mutable_stages(0);
  c.set_weight_bytes(8 << 20);
  c.set_layers(4);
  return cost;
}

Staleness Of(StalenessKind kind, double param = 1) { return Staleness{kind, param}; }

ir::CostModel Apply(const ir::CostModel& cost, const Staleness& s, const ir::Schedule& schedule,
                    const std::vector<uint64_t>& largest = {}) {
  Result<ir::CostModel> r = ApplyStalenessCost(cost, s, schedule, "--staleness", largest);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : ir::CostModel{};
}

// PACI P=4 K=3: stages 0-2 have backwards with drift 1, the last stage none.
TEST(StalenessCost, RewindChargesFourFloatsOnDriftingBackwards) {
  const ir::Schedule paci = Generate(ir::PACI, 4, 3);
  const ir::CostModel c = Apply(HandCost(), Of(StalenessKind::kRewind), paci);
  ASSERT_EQ(c.stages_size(), 4);
  for (int s = 0; s < 3; ++s) {
    SCOPED_TRACE(s);
    EXPECT_EQ(c.stages(s).forward_ns(), 1 * kMs);
    EXPECT_EQ(c.stages(s).backward_input_ns(), 2 * kMs + 4 * kMs / 10);  // + 4 x 0.7 / 7 ms
    EXPECT_EQ(c.stages(s).optimizer_ns(), 7 * kMs / 10);
    EXPECT_EQ(c.stages(s).transient_bytes(), 2u << 20);  // 8 MiB / 4 layers
    EXPECT_EQ(c.stages(s).weight_bytes(), 8u << 20);     // persistent bytes unchanged
  }
  EXPECT_EQ(c.stages(3).backward_input_ns(), 2 * kMs);
  EXPECT_EQ(c.stages(3).transient_bytes(), 0u);
}

TEST(StalenessCost, PredictChargesForwardsAndDelayCompStaleSteps) {
  const ir::Schedule paci = Generate(ir::PACI, 4, 3);
  const ir::CostModel p = Apply(HandCost(), Of(StalenessKind::kPredict), paci);
  EXPECT_EQ(p.stages(0).forward_ns(), 1 * kMs + 4 * kMs / 10);
  EXPECT_EQ(p.stages(0).backward_input_ns(), 2 * kMs);
  EXPECT_EQ(p.stages(3).forward_ns(), 1 * kMs);
  EXPECT_EQ(p.stages(0).transient_bytes(), 2u << 20);

  const ir::CostModel d = Apply(HandCost(), Of(StalenessKind::kDelayComp), paci);
  for (int s = 0; s < 4; ++s) {
    SCOPED_TRACE(s);
    // 0.7 + 5 x 0.1 ms where gradients are stale; PACI's last stage never has a stale one.
    EXPECT_EQ(d.stages(s).optimizer_ns(), s < 3 ? 12 * kMs / 10 : 7 * kMs / 10);
    EXPECT_EQ(d.stages(s).forward_ns(), 1 * kMs);
    EXPECT_EQ(d.stages(s).backward_input_ns(), 2 * kMs);
    EXPECT_EQ(d.stages(s).transient_bytes(), 0u);
  }
  // Only the learning rate changes.
  const ir::CostModel lr = Apply(HandCost(), Of(StalenessKind::kDriftLrScale), paci);
  for (int s = 0; s < 4; ++s) {
    EXPECT_EQ(lr.stages(s).SerializeAsString(), HandCost().stages(0).SerializeAsString());
  }
}

TEST(StalenessCost, NoOptimizerTimeMeansNoExtraTime) {
  const ir::CostModel c = Apply(simtest::Cost(1, 2), Of(StalenessKind::kRewind), Generate(ir::PACI, 4, 3));
  EXPECT_EQ(c.stages(0).backward_input_ns(), 2 * kMs);
  EXPECT_EQ(c.stages(0).forward_ns(), 1 * kMs);
}

TEST(StalenessCost, TransientIsTheLargestLayerWhenKnownElseAnEqualShare) {
  const ir::Schedule paci = Generate(ir::PACI, 4, 3);
  ir::CostModel odd = HandCost();
  odd.mutable_stages(0)->set_weight_bytes(10);
  odd.mutable_stages(0)->set_layers(4);
  EXPECT_EQ(Apply(odd, Of(StalenessKind::kRewind), paci).stages(0).transient_bytes(), 3u);  // rounded up
  odd.mutable_stages(0)->set_layers(0);
  EXPECT_EQ(Apply(odd, Of(StalenessKind::kRewind), paci).stages(0).transient_bytes(), 10u);
  const ir::CostModel known = Apply(HandCost(), Of(StalenessKind::kRewind), paci, {5, 6, 7, 8});
  EXPECT_EQ(known.stages(0).transient_bytes(), 5u);
  EXPECT_EQ(known.stages(2).transient_bytes(), 7u);
  EXPECT_EQ(known.stages(3).transient_bytes(), 0u);  // no drift on the last stage
  EXPECT_FALSE(ApplyStalenessCost(HandCost(), Of(StalenessKind::kRewind), paci, "--staleness", {1, 2}).ok());
}

// Layer 0 (the embedding) is left out; stage s holds slices s, s+P.
TEST(StalenessCost, LargestEstimatedLayerSkipsTheEmbedding) {
  std::vector<LayerCost> layers(6);
  const uint64_t bytes[] = {1000, 10, 20, 30, 40, 500};
  for (size_t l = 0; l < layers.size(); ++l) layers[l].weight_bytes = bytes[l];
  EXPECT_EQ(LargestEstimatedLayer(layers, {{0, 2}, {2, 6}}, 2), (std::vector<uint64_t>{10, 500}));
  EXPECT_EQ(LargestEstimatedLayer(layers, {{0, 1}, {1, 3}, {3, 4}, {4, 6}}, 2),
            (std::vector<uint64_t>{30, 500}));
  EXPECT_EQ(LargestEstimatedLayer(layers, {{0, 1}, {1, 6}}, 2), (std::vector<uint64_t>{0, 500}));
}

TEST(StalenessCost, RefusedWhereItDoesNotApply) {
  const ir::Schedule flush = Generate(ir::ONE_F_ONE_B_FLUSH, 4, 3);
  Result<ir::CostModel> r = ApplyStalenessCost(HandCost(), Of(StalenessKind::kRewind), flush, "--staleness");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "--staleness: rewind=1 does not apply to 1f1b-flush: no micro-batch's weights change between its "
            "forward and backward");
  r = ApplyStalenessCost(HandCost(), Of(StalenessKind::kDelayComp), flush, "--staleness");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no gradient is applied to weights newer than its forward's"),
            std::string::npos);
  // PipeDream stashes its weights (no drift) but applies stale gradients: delay-comp only.
  const ir::Schedule pipedream = Generate(ir::PIPEDREAM, 4, 1);
  EXPECT_FALSE(ApplyStalenessCost(HandCost(), Of(StalenessKind::kRewind), pipedream, "x").ok());
  EXPECT_TRUE(ApplyStalenessCost(HandCost(), Of(StalenessKind::kDelayComp), pipedream, "x").ok());
  r = ApplyStalenessCost(HandCost(), Of(StalenessKind::kPredict), Generate(ir::PIPEMARE, 4, 3),
                         "--staleness");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("pipemare"), std::string::npos);
}

// The estimate is held while an op runs: rewind adds exactly one layer's bytes to each drifting
// stage's peak and nothing to PACI's last stage, whose backwards never drift.
TEST(StalenessCost, TransientBytesInTheSimulatedPeak) {
  const ir::Schedule paci = Generate(ir::PACI, 4, 3);
  ir::CostModel cost = HandCost();
  cost.mutable_stages(0)->set_activation_bytes(1 << 20);
  const ir::CostModel rewind = Apply(cost, Of(StalenessKind::kRewind), paci);
  Result<SimulationResult> plain = Simulate(paci, cost), comp = Simulate(paci, rewind);
  ASSERT_TRUE(plain.ok() && comp.ok());
  EXPECT_EQ(comp->stages[0].peak_memory_bytes, plain->stages[0].peak_memory_bytes + (2u << 20));
  EXPECT_EQ(comp->stages[0].transient_bytes, 2u << 20);
  EXPECT_EQ(comp->stages[3].peak_memory_bytes, plain->stages[3].peak_memory_bytes);
  EXPECT_EQ(comp->stages[3].transient_bytes, 0u);
  EXPECT_EQ(plain->stages[0].transient_bytes, 0u);
  // Not every backward of stage 0 drifts (the first ones do not); every one is charged 0.4 ms
  // (the upper bound).
  const int64_t backwards = static_cast<int64_t>(paci.spec().total_microbatches());
  EXPECT_EQ(backwards, 33);
  EXPECT_EQ(comp->stages[0].busy_ns - plain->stages[0].busy_ns, backwards * 4 * kMs / 10);
  EXPECT_EQ(comp->stages[3].busy_ns, plain->stages[3].busy_ns);
  EXPECT_GT(comp->makespan_ns, plain->makespan_ns);
}

TEST(StalenessCost, SweepVariantRowsAreCompensated) {
  SweepGrid grid;
  grid.schedules = {ir::PACI, ir::PACI};
  grid.staleness = {Staleness{}, Of(StalenessKind::kRewind)};
  grid.stages = {1, 4};
  grid.accums = {3};
  grid.steady_state = true;
  const std::vector<SweepRow> rows = RunSweep(grid, HandCost(), 1);
  ASSERT_EQ(rows.size(), 4u);
  const SweepRow &plain = rows[1], &rewind = rows[3];
  ASSERT_TRUE(plain.ok() && rewind.ok()) << plain.error << rewind.error;
  EXPECT_FALSE(plain.staleness.on());
  EXPECT_EQ(rewind.staleness.kind, StalenessKind::kRewind);
  EXPECT_EQ(rewind.transient_bytes, 2u << 20);
  EXPECT_EQ(plain.transient_bytes, 0u);
  EXPECT_EQ(rewind.peak_memory_bytes, plain.peak_memory_bytes + (2u << 20));
  EXPECT_LT(rewind.steady_throughput_microbatches_per_s, plain.steady_throughput_microbatches_per_s);
  ASSERT_EQ(rewind.stage_costs.size(), 4u);  // its own costs, reported
  EXPECT_TRUE(plain.stage_costs.empty());
  // P = 1 has no drift: that point of the variant is a row error naming the variant.
  EXPECT_TRUE(rows[0].ok());
  ASSERT_FALSE(rows[2].ok());
  EXPECT_EQ(rows[2].error.rfind("paci+rewind=1: rewind=1 does not apply to paci", 0), 0u) << rows[2].error;
  // The recommendation's runner-up is another variant, even of the same schedule.
  const std::vector<Recommendation> rec = Recommend(rows, {});
  ASSERT_EQ(rec.size(), 2u);
  ASSERT_TRUE(rec[1].best && rec[1].runner_up);
  EXPECT_FALSE(rec[1].best->staleness.on());
  EXPECT_TRUE(rec[1].runner_up->staleness.on());
}

}  // namespace
}  // namespace paci::sim
