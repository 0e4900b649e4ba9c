// The study analysis on synthetic curves whose answers are known in closed form: tokens to a
// target loss (smoothed, so one lucky dip does not count) and its interval over seeds; mean and
// spread over seeds; time to accuracy = tokens / the simulator's steady-state tokens per second.
#include "study/loss_curve_study.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "sim/update_timing.h"
#include "tests/sim/sim_test_util.h"

namespace paci::study {
namespace {

using sim::MakeCostModel;
using sim::SimulationResult;
using sim::SteadyTokensPerSecond;
using sim::UniformCost;
namespace simtest = sim::simtest;

// loss(u) = 2 + 3 exp(-(u - shift) / 50) for updates 1..400.
LossCurve Exponential(double shift) {
  LossCurve c;
  for (uint64_t u = 1; u <= 400; ++u)
    c.points.emplace_back(u, 2.0 + 3.0 * std::exp(-(double(u) - shift) / 50.0));
  return c;
}

// The trailing mean of 10 points of 3 exp(-u/50) is 3 exp(-u/50) * sum_k exp(k/50) / 10, which
// is <= 0.5 from u = ceil(50 ln(6 * 1.095994)) = 95 on; the raw curve crosses at u = 90.
TEST(LossCurveStudy, TokensToTargetIsSmoothed) {
  const double tokens_per_update = 1000;
  TokenCurve curve = LossAgainstTokens(Exponential(0), tokens_per_update);
  ASSERT_EQ(curve.tokens.size(), 400u);
  EXPECT_DOUBLE_EQ(curve.tokens[9], 10000);
  EXPECT_EQ(TokensToReach(curve, 2.5, 1), 90000);
  EXPECT_EQ(TokensToReach(curve, 2.5), 95000);
  curve.loss[29] = 1.0;  // one lucky micro-batch at update 30
  EXPECT_EQ(TokensToReach(curve, 2.5, 1), 30000);
  EXPECT_EQ(TokensToReach(curve, 2.5), 95000);
  EXPECT_EQ(TokensToReach(curve, 1.9), std::nullopt);
}

// Seeds shifted by -5, 0, +5 updates reach at 90k, 95k, 100k tokens: a count, so the geometric
// mean (90k x 95k x 100k)^(1/3) = 94,912.2 and the t(2) = 4.303 interval on the logs,
// [83,267.8, 108,185.0] (computed by hand in Python's math module).
TEST(LossCurveStudy, TokensToTargetIntervalOverSeeds) {
  std::vector<TokenCurve> seeds;
  for (double shift : {-5.0, 0.0, 5.0}) seeds.push_back(LossAgainstTokens(Exponential(shift), 1000));
  const TokensToTarget t = TokensToTargetOverSeeds(seeds, 2.5);
  EXPECT_EQ(t.seeds, 3u);
  EXPECT_EQ(t.reached, 3u);
  ASSERT_TRUE(t.mean && t.lo && t.hi);
  EXPECT_NEAR(*t.mean, 94912.19958029332, 1e-6);
  EXPECT_NEAR(*t.lo, 83267.76947120707, 1e-6);
  EXPECT_NEAR(*t.hi, 108185.02388591536, 1e-6);
  ASSERT_EQ(t.per_seed.size(), 3u);
  EXPECT_EQ(t.per_seed[0], 90000);
  EXPECT_EQ(t.per_seed[2], 100000);

  seeds.push_back(LossAgainstTokens(Exponential(1000), 1000));  // starts 3e9 above 2: never reaches
  const TokensToTarget partial = TokensToTargetOverSeeds(seeds, 2.5);
  EXPECT_EQ(partial.reached, 3u);
  EXPECT_FALSE(partial.mean.has_value());
}

TEST(LossCurveStudy, MeanAndSpreadOverSeeds) {
  TokenCurve a{{100, 200, 300}, {3.0, 2.0, 1.0}};
  TokenCurve b{{100, 200}, {5.0, 4.0}};
  Result<SeedBand> band = MeanOverSeeds({a, b});
  ASSERT_TRUE(band.ok()) << band.status().message();
  EXPECT_EQ(band->tokens, (std::vector<double>{100, 200}));  // cut to the shortest seed
  EXPECT_EQ(band->mean, (std::vector<double>{4.0, 3.0}));
  EXPECT_NEAR(band->stddev[0], std::sqrt(2.0), 1e-12);
  TokenCurve c{{100, 250}, {1.0, 1.0}};
  EXPECT_FALSE(MeanOverSeeds({a, c}).ok());
}

// Steady-state tokens/s of 1F1B-flush is exactly K tokens-per-micro-batch over its period
// (K + P - 1)(T_F + T_B) (method.md §3.3); PACI's approaches K over K(T_F + T_B), far above what a
// short run (warm-up dominated) shows. TTA is tokens / that rate: doubling every op's cost doubles it.
TEST(LossCurveStudy, TimeToAccuracyUsesPredictedSteadyThroughput) {
  const uint32_t P = 4, K = 4;
  UniformCost u;
  u.fwd_ms = 1;
  u.bwd_ms = 2;
  u.tokens_per_microbatch = 1024;
  const ir::CostModel cost = MakeCostModel(u);
  Result<double> flush = SteadyTokensPerSecond(simtest::Spec(ir::ONE_F_ONE_B_FLUSH, P, K), cost);
  Result<double> paci = SteadyTokensPerSecond(simtest::Spec(ir::PACI, P, 0, K), cost);
  ASSERT_TRUE(flush.ok() && paci.ok());
  EXPECT_NEAR(*flush, K * 1024.0 / ((K + P - 1) * 3e-3), 1e-6 * *flush);
  EXPECT_NEAR(*paci, K * 1024.0 / (K * 3e-3), 1e-6 * *paci);
  const SimulationResult short_run = simtest::Sim(simtest::Spec(ir::PACI, P, 0, K, 4 * K), cost);
  EXPECT_LT(short_run.tokens_per_s, 0.9 * *paci);  // 0.84 here

  TokensToTarget tokens;
  tokens.seeds = tokens.reached = 3;
  tokens.mean = 3.0e6;
  tokens.lo = 2.5e6;
  tokens.hi = 3.5e6;
  const PredictedTimeToAccuracy tta = PredictTimeToAccuracy(tokens, *paci);
  ASSERT_TRUE(tta.seconds && tta.lo && tta.hi);
  EXPECT_DOUBLE_EQ(*tta.seconds, 3.0e6 / *paci);
  EXPECT_DOUBLE_EQ(*tta.lo, 2.5e6 / *paci);

  u.fwd_ms = 2;
  u.bwd_ms = 4;
  Result<double> slower = SteadyTokensPerSecond(simtest::Spec(ir::PACI, P, 0, K), MakeCostModel(u));
  ASSERT_TRUE(slower.ok());
  EXPECT_NEAR(*PredictTimeToAccuracy(tokens, *slower).seconds, 2 * *tta.seconds, 1e-9 * *tta.seconds);

  u.tokens_per_microbatch = 0;
  EXPECT_FALSE(SteadyTokensPerSecond(simtest::Spec(ir::PACI, P, 0, K), MakeCostModel(u)).ok());
  tokens.mean.reset();
  EXPECT_FALSE(PredictTimeToAccuracy(tokens, *paci).seconds.has_value());
}

}  // namespace
}  // namespace paci::study
