// Sweeps (ranges, deterministic parallel runs, recommendations), time per update and cost files.
#include "sim/sweep.h"

#include <gtest/gtest.h>

#include "sim/cost_model_file.h"
#include "sim/update_timing.h"
#include "tests/sim/sim_test_util.h"

namespace paci::sim::simtest {
namespace {

TEST(Sweep, ParsesRanges) {
  EXPECT_EQ(*ParseRange("8"), (std::vector<uint64_t>{8}));
  EXPECT_EQ(*ParseRange("2,4,8"), (std::vector<uint64_t>{2, 4, 8}));
  EXPECT_EQ(*ParseRange("2..5"), (std::vector<uint64_t>{2, 3, 4, 5}));
  EXPECT_EQ(*ParseRange("2..32:pow2"), (std::vector<uint64_t>{2, 4, 8, 16, 32}));
  EXPECT_EQ(*ParseRange("3..33:pow2"), (std::vector<uint64_t>{4, 8, 16, 32}));
  EXPECT_EQ(*ParseRange("2..10:4,1,8"), (std::vector<uint64_t>{1, 2, 6, 8, 10}));
  for (const char* bad : {"", "0", "a", "4..2", "2..", "..4", "2..8:x", "1,,2"})
    EXPECT_FALSE(ParseRange(bad).ok()) << bad;
}

SweepGrid Grid() {
  SweepGrid g;
  g.schedules = {ir::PACI, ir::ONE_F_ONE_B_FLUSH, ir::PIPEDREAM_2BW, ir::INTERLEAVED_1F1B};
  g.stages = {2, 4, 8};
  g.accums = {2, 4, 8, 16};
  return g;
}

TEST(Sweep, RowsInGridOrderAndIndependentOfThreads) {
  const std::vector<SweepRow> one = RunSweep(Grid(), Cost(1, 2), 1);
  const std::vector<SweepRow> four = RunSweep(Grid(), Cost(1, 2), 4);
  ASSERT_EQ(one.size(), 4u * 3 * 4);
  ASSERT_EQ(four.size(), one.size());
  size_t i = 0;
  for (ir::ScheduleKind k : Grid().schedules)
    for (uint32_t P : Grid().stages)
      for (uint32_t K : Grid().accums) {
        EXPECT_EQ(one[i].kind, k);
        EXPECT_EQ(one[i].stages, P);
        EXPECT_EQ(one[i].accum, K);
        EXPECT_EQ(one[i].makespan_ns, four[i].makespan_ns);
        EXPECT_EQ(one[i].error, four[i].error);
        ++i;
      }
  // 2BW needs K >= P; interleaved needs M = K to be a multiple of P: those rows carry the reason.
  for (const SweepRow& r : one) {
    EXPECT_EQ(r.ok(), !(r.kind == ir::PIPEDREAM_2BW && r.accum < r.stages) &&
                          !(r.kind == ir::INTERLEAVED_1F1B && r.accum % r.stages != 0))
        << r.error;
  }
}

TEST(Sweep, FlushRowsMatchClosedForm) {
  SweepGrid g;
  g.schedules = {ir::ONE_F_ONE_B_FLUSH};
  g.stages = {8};
  g.accums = {8, 16, 32};
  g.microbatches = {64};
  for (const SweepRow& r : RunSweep(g, Cost(1, 2), 2)) {
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.microbatches, 64u);
    EXPECT_EQ(r.makespan_ns, int64_t(64 / r.accum) * (r.accum + 7) * 3 * kMs);
  }
}

TEST(Sweep, RecommendsFastestWithinLimits) {
  UniformCost u;
  u.activation_mb = 1;
  const std::vector<SweepRow> rows = RunSweep(Grid(), MakeCostModel(u), 2);
  const std::vector<Recommendation> free = Recommend(rows, {});
  ASSERT_EQ(free.size(), 3u);
  for (const Recommendation& rec : free) {
    ASSERT_TRUE(rec.best && rec.runner_up);
    EXPECT_NE(rec.best->kind, rec.runner_up->kind);
    for (const SweepRow& r : rows)
      if (r.ok() && r.stages == rec.stages) {
        EXPECT_LE(r.throughput_microbatches_per_s, rec.best->throughput_microbatches_per_s);
      }
  }
  // Drift 0 leaves the flush schedules and 2BW (its backwards use the forward's version).
  SweepLimits no_drift;
  no_drift.max_drift = 0;
  for (const Recommendation& rec : Recommend(rows, no_drift))
    if (rec.best) {
      EXPECT_NE(rec.best->kind, ir::PACI);
    }
  // A budget below every configuration's peak leaves nothing.
  SweepLimits tiny;
  tiny.memory_budget_bytes = 1;
  for (const Recommendation& rec : Recommend(rows, tiny)) EXPECT_FALSE(rec.best);
}

TEST(UpdateTiming, FlushTimingIsExactAndPaciFaster) {
  // 1F1B-flush, M = K = 8, P = 8: 45 ms per update, no offset (docs/method.md §6.7).
  Result<UpdateTiming> flush =
      SimulateUpdateTiming(*SweepSpec(ir::ONE_F_ONE_B_FLUSH, 8, 8, 0, 1), Cost(1, 2), 16);
  ASSERT_TRUE(flush.ok());
  EXPECT_NEAR(flush->period_s, 0.045, 1e-12);
  EXPECT_NEAR(flush->offset_s, 0.0, 1e-12);
  // PACI, K = 8: 24 ms per update in steady state (ranking them: tests/study/time_to_accuracy_test.cc).
  Result<UpdateTiming> paci = SimulateUpdateTiming(*SweepSpec(ir::PACI, 8, 8, 0, 1), Cost(1, 2), 16);
  ASSERT_TRUE(paci.ok());
  EXPECT_NEAR(paci->period_s, 0.024, 1e-12);
  EXPECT_NEAR(paci->SecondsFor(1100), paci->offset_s + 1100 * 0.024, 1e-9);
}

// Issue 30 item 11: the steady state of PACI at P = 4, K = 4 (4 / 8 / 0.3 ms over the stages) is
// what a long run tends to, well above the default short run (fill and drain dominate it); the
// bubble likewise. For 1F1B-flush every update is alike: the steady state is any run's.
TEST(SteadyState, MatchesALongRunAndNotTheShortOne) {
  UniformCost u;
  u.fwd_ms = 1;
  u.bwd_ms = 2;
  u.opt_ms = 0.3;
  u.tokens_per_microbatch = 1000;
  const ir::CostModel cost = MakeCostModel(u);
  Result<ir::PipelineSpec> spec = SweepSpec(ir::PACI, 4, 4, 0, 1);
  ASSERT_TRUE(spec.ok());
  Result<SteadyState> steady = SimulateSteadyState(*spec, cost);
  ASSERT_TRUE(steady.ok()) << steady.status().ToString();
  EXPECT_EQ(steady->updates, SteadyStateUpdates(*spec));
  EXPECT_EQ(steady->microbatches_per_update, 4u);
  EXPECT_NEAR(steady->tokens_per_s, 1000 * steady->microbatches_per_s, 1e-6);
  ir::PipelineSpec long_spec = *spec;
  long_spec.set_total_microbatches(4 * 1000);
  Result<SimulationResult> long_run = SimulateSpec(long_spec, cost);
  Result<SimulationResult> short_run = SimulateSpec(*SweepSpec(ir::PACI, 4, 4, 16, 1), cost);
  ASSERT_TRUE(long_run.ok() && short_run.ok());
  EXPECT_NEAR(steady->microbatches_per_s, long_run->throughput_microbatches_per_s,
              0.005 * long_run->throughput_microbatches_per_s);
  EXPECT_NEAR(steady->bubble_fraction, long_run->bubble_fraction, 0.005);
  EXPECT_LT(short_run->throughput_microbatches_per_s, 0.9 * steady->microbatches_per_s);
  EXPECT_GT(short_run->bubble_fraction, steady->bubble_fraction + 0.1);

  Result<ir::PipelineSpec> flush = SweepSpec(ir::ONE_F_ONE_B_FLUSH, 4, 4, 0, 1);
  Result<SteadyState> flush_steady = SimulateSteadyState(*flush, cost);
  Result<SimulationResult> flush_run = SimulateSpec(*flush, cost);
  ASSERT_TRUE(flush_steady.ok() && flush_run.ok());
  EXPECT_NEAR(flush_steady->microbatches_per_s, flush_run->throughput_microbatches_per_s,
              1e-9 * flush_run->throughput_microbatches_per_s);
}

// The sweep's steady state: asked for (paci sweep's default), every row carries it and the
// recommendation ranks by it; otherwise no row does (the bench and explicit run lengths).
TEST(SteadyState, SweepRowsCarryItWhenAskedAndRankByIt) {
  SweepGrid g;
  g.schedules = {ir::PACI, ir::ONE_F_ONE_B_FLUSH};
  g.stages = {4};
  g.accums = {4};
  for (const SweepRow& r : RunSweep(g, Cost(1, 2), 1)) EXPECT_FALSE(r.has_steady());
  g.steady_state = true;
  const std::vector<SweepRow> rows = RunSweep(g, Cost(1, 2), 1);
  ASSERT_EQ(rows.size(), 2u);
  for (const SweepRow& r : rows) {
    ASSERT_TRUE(r.ok()) << r.error;
    ASSERT_TRUE(r.has_steady());
    Result<SteadyState> s = SimulateSteadyState(*SweepSpec(r.kind, 4, 4, 0, 1), Cost(1, 2));
    EXPECT_EQ(r.steady_throughput_microbatches_per_s, s->microbatches_per_s);
    EXPECT_EQ(r.steady_bubble_fraction, s->bubble_fraction);
    EXPECT_EQ(r.RankedThroughput(), r.steady_throughput_microbatches_per_s);
  }
  EXPECT_GT(rows[0].steady_throughput_microbatches_per_s, rows[0].throughput_microbatches_per_s);
  const std::vector<Recommendation> rec = Recommend(rows, {});
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec[0].best->kind, ir::PACI);
}

TEST(CostFile, ParsesJson) {
  Result<ir::CostModel> c = ParseCostModel(R"({"stages":[{"fwd_ms":1.5,"bwd_ms":3,"weights_mb":2},
      {"fwd_ms":1}], "links":[{"latency_us":5,"bandwidth_gbps":8}], "jitter":{"cv":0.1,"seed":3},
      "tokens_per_microbatch":4096})");
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->stages_size(), 2);
  EXPECT_EQ(c->stages(0).forward_ns(), 1500000);
  EXPECT_EQ(c->stages(0).backward_input_ns(), 3000000);
  EXPECT_EQ(c->stages(0).gradient_bytes(), 2u << 20);
  EXPECT_EQ(c->stages(0).optimizer_state_bytes(), 4u << 20);
  EXPECT_EQ(c->links(0).latency_ns(), 5000);
  EXPECT_DOUBLE_EQ(c->links(0).bandwidth_bytes_per_s(), 1e9);
  EXPECT_EQ(c->tokens_per_microbatch(), 4096u);
  Result<ir::CostModel> typo = ParseCostModel(R"({"stages":[{"fwd_mss":1}]})");
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.status().message().find("fwd_mss"), std::string::npos);
}

TEST(CostFile, ParsesProtoTextAndSimulatesPerStage) {
  Result<ir::CostModel> c = ParseCostModel(
      "stages { forward_ns: 1000000 backward_input_ns: 2000000 }\n"
      "stages { forward_ns: 2000000 backward_input_ns: 4000000 }\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  // GPipe with a slow second stage: the forward wave is limited by it.
  const SimulationResult r = Sim(Spec(ir::GPIPE, 2, 4), *c);
  // F: stage 1 runs 4 x 2 ms after the first 1 ms; B: stage 1 4 x 4 ms, then stage 0's last 2 ms.
  EXPECT_EQ(r.makespan_ns, (1 + 8 + 16 + 2) * kMs);
  EXPECT_FALSE(ParseCostModel("stages { forward_nz: 1 }").ok());
}

}  // namespace
}  // namespace paci::sim::simtest
