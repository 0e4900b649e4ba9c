// Time to accuracy from a loss curve and a simulated time per update: the CSV reading, the one
// smoothed "reached", the ranking against the fastest flush, and a whole sweep's ranking per P.
#include "study/time_to_accuracy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "sim/sweep.h"
#include "tests/sim/sim_test_util.h"

namespace paci::study {
namespace {

TEST(TimeToAccuracy, ParsesLossCurves) {
  Result<LossCurve> c = ParseLossCurveCsv("update,loss\n1,5.0\n2,4.0\n# note\n4,3.5,extra\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->points.size(), 3u);
  // "Reached" is the one smoothed definition (FirstIndexReaching): trailing means 5, 4.5, 4.17.
  // A single point at the target (4.0 at update 2) is not enough, as in summary and the study.
  EXPECT_FALSE(UpdatesToReach(*c, 4.0));
  EXPECT_EQ(UpdatesToReach(*c, 4.5), 2u);
  EXPECT_EQ(UpdatesToReach(*c, 4.2), 4u);
  EXPECT_FALSE(UpdatesToReach(*c, 1.0));
  Result<LossCurve> bad = ParseLossCurveCsv("1,5\n1,4\n", "x.csv");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("x.csv:2"), std::string::npos) << bad.status().message();
}

TEST(TimeToAccuracy, TargetLossRange) {
  EXPECT_TRUE(CheckTargetLoss(2.5).ok());
  EXPECT_FALSE(CheckTargetLoss(0).ok());
  EXPECT_FALSE(CheckTargetLoss(NAN).ok());
  EXPECT_FALSE(CheckTargetLoss(INFINITY).ok());
  EXPECT_FALSE(CheckTargetLoss(kMaxTargetLoss * 2).ok());
}

// 1F1B-flush at 45 ms per update (P = K = 8, T_F = 1, T_B = 2) against PACI at 24 ms per update
// after a start-up offset: PACI needing 10 % more updates is still 1.70x faster.
TEST(TimeToAccuracy, RanksAgainstTheFastestFlush) {
  std::vector<TtaEntry> e(3);
  e[0].flush = true;
  e[0].timing = {0.0, 0.045};
  e[0].updates_to_target = 1000;
  e[1].timing = {0.021, 0.024};
  e[1].updates_to_target = 1100;
  e[2].timing = {0.0, 0.010};  // never reaches: no time, no speed-up
  RankTimeToAccuracy(&e);
  EXPECT_NEAR(*e[0].seconds_to_target, 45.0, 1e-9);
  EXPECT_NEAR(*e[0].speedup_vs_best_flush, 1.0, 1e-12);
  EXPECT_NEAR(*e[1].seconds_to_target, 0.021 + 1100 * 0.024, 1e-9);
  EXPECT_NEAR(*e[1].speedup_vs_best_flush, 45.0 / (0.021 + 1100 * 0.024), 1e-9);
  EXPECT_FALSE(e[2].seconds_to_target.has_value());
  EXPECT_FALSE(e[2].speedup_vs_best_flush.has_value());
}

// A sweep over P = 4, 8: each row ranked against the flush row of its own P; a schedule without
// a curve is left unranked; a failing cost model is the error.
TEST(TimeToAccuracy, SweepRanksWithinEachStageCount) {
  sim::SweepGrid g;
  g.schedules = {ir::ONE_F_ONE_B_FLUSH, ir::PACI, ir::GPIPE};
  g.stages = {4, 8};
  g.accums = {8};
  const ir::CostModel cost = sim::simtest::Cost(1, 2);
  const std::vector<sim::SweepRow> rows = sim::RunSweep(g, cost, 1);
  ASSERT_EQ(rows.size(), 6u);
  LossCurve curve;
  for (uint64_t u = 1; u <= 200; ++u) curve.points.emplace_back(u, 10.0 - 0.05 * static_cast<double>(u));
  const std::map<std::string, LossCurve> curves = {{"1f1b-flush", curve}, {"paci", curve}};
  const sim::CostForSpec cost_for = [&](const ir::PipelineSpec&) -> Result<ir::CostModel> { return cost; };
  Result<std::vector<TtaEntry>> e = SweepTimeToAccuracy(rows, curves, 5.0, cost_for, 16, 2);
  ASSERT_TRUE(e.ok()) << e.status().message();
  for (size_t i = 0; i < rows.size(); ++i) {
    SCOPED_TRACE(i);
    if (rows[i].kind == ir::GPIPE) {
      EXPECT_FALSE((*e)[i].updates_to_target.has_value());
      continue;
    }
    // The trailing mean of 10 points lags the raw line by 4.5 updates: 10 - 0.05 (u - 4.5) <= 5 at u = 105.
    EXPECT_EQ((*e)[i].updates_to_target, 105u);
    if (rows[i].kind == ir::ONE_F_ONE_B_FLUSH)
      EXPECT_NEAR(*(*e)[i].speedup_vs_best_flush, 1.0, 1e-12);
    else
      EXPECT_GT(*(*e)[i].speedup_vs_best_flush, 1.0);
  }
  const sim::CostForSpec broken = [](const ir::PipelineSpec&) -> Result<ir::CostModel> {
    return Status::InvalidArgument("no cost here");
  };
  Result<std::vector<TtaEntry>> failed = SweepTimeToAccuracy(rows, curves, 5.0, broken, 16, 2);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().message(), "no cost here");
}

// A schedule variant with a staleness compensation ("paci+rewind=1") and the same curve as plain
// PACI reaches the target in as many updates, each slower by the compensation's predicted extra:
// its time per update is simulated under the compensated cost. Its own curve takes precedence.
TEST(TimeToAccuracy, CompensatedVariantPaysItsExtraTime) {
  sim::SweepGrid g;
  g.schedules = {ir::ONE_F_ONE_B_FLUSH, ir::PACI, ir::PACI};
  g.staleness = {{}, {}, {StalenessKind::kRewind, 1}};
  g.stages = {4};
  g.accums = {8};
  const ir::CostModel cost = sim::simtest::Cost(1, 2, 0, 0.7);  // rewind: + 0.4 ms per backward
  const std::vector<sim::SweepRow> rows = sim::RunSweep(g, cost, 1);
  ASSERT_EQ(rows.size(), 3u);
  LossCurve curve, faster;
  for (uint64_t u = 1; u <= 200; ++u) curve.points.emplace_back(u, 10.0 - 0.05 * static_cast<double>(u));
  for (uint64_t u = 1; u <= 200; ++u) faster.points.emplace_back(u, 10.0 - 0.1 * static_cast<double>(u));
  const sim::CostForSpec cost_for = [&](const ir::PipelineSpec&) -> Result<ir::CostModel> { return cost; };
  Result<std::vector<TtaEntry>> e = SweepTimeToAccuracy(rows, {{"*", curve}}, 5.0, cost_for, 16, 1);
  ASSERT_TRUE(e.ok()) << e.status().message();
  const TtaEntry &plain = (*e)[1], &rewind = (*e)[2];
  ASSERT_TRUE(plain.seconds_to_target && rewind.seconds_to_target);
  EXPECT_EQ(plain.updates_to_target, rewind.updates_to_target);
  Result<ir::PipelineSpec> spec = sim::SweepSpec(ir::PACI, 4, 8, 0, 1);
  ASSERT_TRUE(spec.ok());
  Result<ir::CostModel> compensated = sim::CompensatedCost(*spec, g.staleness[2], cost);
  ASSERT_TRUE(compensated.ok()) << compensated.status().message();
  Result<sim::UpdateTiming> expected = sim::SimulateUpdateTiming(*spec, *compensated, 16);
  ASSERT_TRUE(expected.ok());
  EXPECT_DOUBLE_EQ(rewind.timing.period_s, expected->period_s);
  EXPECT_GT(rewind.timing.period_s, plain.timing.period_s);
  EXPECT_NEAR(*rewind.seconds_to_target / *plain.seconds_to_target,
              rewind.timing.period_s / plain.timing.period_s, 0.05);
  EXPECT_LT(*rewind.speedup_vs_best_flush, *plain.speedup_vs_best_flush);

  e = SweepTimeToAccuracy(rows, {{"*", curve}, {"paci+rewind=1", faster}}, 5.0, cost_for, 16, 1);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_LT(*(*e)[2].updates_to_target, *(*e)[1].updates_to_target);
}

}  // namespace
}  // namespace paci::study
