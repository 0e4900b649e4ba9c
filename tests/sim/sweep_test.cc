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
