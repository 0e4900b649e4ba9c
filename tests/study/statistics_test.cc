// The report statistics against values computed elsewhere: Student-t quantiles and intervals of
// small samples whose mean and spread are known by hand.
#include "study/statistics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace paci::study {
namespace {

// 97.5 % quantiles of Student's t, scipy.stats.t.ppf(0.975, dof), to 16 digits. Recomputed in this
// change with mpmath (findroot on 1 - betainc(dof/2, 1/2, 0, dof/(dof+t^2))/2 = 0.975, 30 digits);
// dof 1 and 2 also have closed forms: tan(0.475 pi) and 0.95 / sqrt(2 x 0.975 x 0.025).
TEST(Statistics, StudentT95MatchesPublishedQuantiles) {
  const std::pair<size_t, double> known[] = {
      {1, 12.7062047361747},   {2, 4.302652729749464}, {3, 3.18244630528371},   {4, 2.776445105197794},
      {5, 2.570581835636316},  {9, 2.262157162798206}, {10, 2.228138851986275}, {19, 2.09302405440831},
      {29, 2.045229642132704}, {30, 2.042272456301238}};
  for (const auto& [dof, t] : known)
    EXPECT_NEAR(StudentT95(dof), t, 5e-4) << "dof " << dof;  // a 3-decimal table
  // Beyond 30 the normal's 97.5 % quantile, scipy.stats.norm.ppf(0.975) = 1.959963984540054
  // (t(31) is 2.0395: the interval is up to 4 % narrow there, as documented).
  EXPECT_NEAR(StudentT95(31), 1.959963984540054, 5e-4);
  EXPECT_NEAR(StudentT95(1000), 1.959963984540054, 5e-4);
  EXPECT_TRUE(std::isnan(StudentT95(0)));
}

TEST(Statistics, SampleStdDevUsesNMinusOne) {
  EXPECT_DOUBLE_EQ(SampleStdDev({1, 2, 3, 4, 5}, 3), std::sqrt(2.5));
  EXPECT_DOUBLE_EQ(SampleStdDev({2, 4}, 3), std::sqrt(2.0));
  EXPECT_EQ(SampleStdDev({7}, 7), 0.0);
  EXPECT_EQ(SampleStdDev({}, 0), 0.0);
}

// {1, 2, 3, 4, 5}: mean 3, sd sqrt(2.5), half width t(4) sqrt(2.5) / sqrt(5) = 2.776445 x 0.707107
// = 1.963243 with the exact quantile (the table's 2.776 gives 1.962928).
TEST(Statistics, MeanIntervalOfKnownSample) {
  const std::optional<MeanInterval> m = MeanWithInterval({1, 2, 3, 4, 5});
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->n, 5u);
  EXPECT_DOUBLE_EQ(m->mean, 3.0);
  EXPECT_DOUBLE_EQ(m->stddev, std::sqrt(2.5));
  EXPECT_NEAR(m->hi - m->mean, 1.963243, 5e-4);
  EXPECT_DOUBLE_EQ(m->mean - m->lo, m->hi - m->mean);
  // Exactly what the table gives: t(4) x sd / sqrt(n).
  EXPECT_DOUBLE_EQ(m->hi, 3.0 + StudentT95(4) * std::sqrt(2.5) / std::sqrt(5.0));
}

// Two seeds 3.10 and 3.14: mean 3.12, sd 0.02 sqrt(2), half t(1) x 0.02 = 0.254124.
TEST(Statistics, MeanIntervalOfTwoSeeds) {
  const std::optional<MeanInterval> m = MeanWithInterval({3.10, 3.14});
  ASSERT_TRUE(m.has_value());
  EXPECT_NEAR(m->mean, 3.12, 1e-12);
  EXPECT_NEAR(m->hi - m->mean, 12.7062047361747 * 0.02, 1e-5);
}

TEST(Statistics, MeanIntervalSkipsMissingValues) {
  EXPECT_FALSE(MeanWithInterval({}).has_value());
  EXPECT_FALSE(MeanWithInterval({NAN, NAN}).has_value());
  const std::optional<MeanInterval> one = MeanWithInterval({NAN, 2.5, INFINITY});
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(one->n, 1u);  // a run that stored no validation loss is left out, not counted as 0
  EXPECT_EQ(one->mean, 2.5);
  EXPECT_EQ(one->lo, 2.5);  // one value: no spread known
  EXPECT_EQ(one->hi, 2.5);
}

// {1000, 2000, 4000}: the logs have mean ln 2000 and sd ln 2, so the geometric mean is 2000 and the
// interval 2000 x exp(-+ t(2) ln 2 / sqrt(3)) = [357.41, 11191.55] with the table's t(2) = 4.303
// (computed by hand in Python's math module).
TEST(Statistics, GeometricMeanIntervalOfKnownSample) {
  const std::optional<MeanInterval> m = GeometricMeanWithInterval({1000, 2000, 4000});
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->n, 3u);
  EXPECT_NEAR(m->mean, 2000, 1e-9);
  EXPECT_NEAR(m->stddev, std::log(2.0), 1e-12);
  EXPECT_NEAR(m->lo, 357.41244923092376, 1e-6);
  EXPECT_NEAR(m->hi, 11191.55196918055, 1e-6);
}

// A count's interval never goes below zero: {100, 100, 10000} tokens has a symmetric t-interval
// whose lower bound is -10,799.9; on the logs it is [0.628, 343,031] around the geometric mean 464.16.
TEST(Statistics, CountIntervalStaysPositiveWhereTheSymmetricOneDoesNot) {
  const std::optional<MeanInterval> symmetric = MeanWithInterval({100, 100, 10000});
  ASSERT_TRUE(symmetric.has_value());
  EXPECT_NEAR(symmetric->lo, -10799.9, 0.1);
  const std::optional<MeanInterval> m = GeometricMeanWithInterval({100, 100, 10000});
  ASSERT_TRUE(m.has_value());
  EXPECT_NEAR(m->mean, 464.1588833612782, 1e-9);
  EXPECT_NEAR(m->lo, 0.6280583588133177, 1e-9);
  EXPECT_NEAR(m->hi, 343030.971533055, 1e-6);
  EXPECT_GT(m->lo, 0);
}

TEST(Statistics, GeometricMeanNeedsPositiveValues) {
  EXPECT_FALSE(GeometricMeanWithInterval({}).has_value());
  EXPECT_FALSE(GeometricMeanWithInterval({1, 0, 2}).has_value());
  EXPECT_FALSE(GeometricMeanWithInterval({1, -2}).has_value());
  const std::optional<MeanInterval> one = GeometricMeanWithInterval({NAN, 8, INFINITY});
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(one->n, 1u);
  EXPECT_DOUBLE_EQ(one->mean, 8);
  EXPECT_DOUBLE_EQ(one->lo, 8);
  EXPECT_DOUBLE_EQ(one->hi, 8);
}

// Pairs (2, 1), (6, 2), (12, 4): per-seed ratios 2, 3, 3, geometric mean 18^(1/3) = 2.62074 and
// interval [1.46504, 4.68811]. The unpaired ratio of the means, 6.67 / 2.33 = 2.86, is a different
// number: pairing is the point.
TEST(Statistics, PairedRatioOfKnownPairs) {
  const std::optional<MeanInterval> r = PairedRatioWithInterval({2, 6, 12}, {1, 2, 4});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->n, 3u);
  EXPECT_NEAR(r->mean, 2.6207413942088964, 1e-12);
  EXPECT_NEAR(r->lo, 1.46504378965076, 1e-9);
  EXPECT_NEAR(r->hi, 4.6881093274060195, 1e-9);
  // Identical ratios: zero width, whatever the seeds' spread.
  const std::optional<MeanInterval> same = PairedRatioWithInterval({2, 20, 200}, {1, 10, 100});
  ASSERT_TRUE(same.has_value());
  EXPECT_NEAR(same->mean, 2, 1e-12);
  EXPECT_NEAR(same->lo, 2, 1e-12);
  EXPECT_NEAR(same->hi, 2, 1e-12);
  // A pair with a missing side (a seed that never reached the target) is left out.
  const std::optional<MeanInterval> partial = PairedRatioWithInterval({2, NAN, 12}, {1, 2, 4});
  ASSERT_TRUE(partial.has_value());
  EXPECT_EQ(partial->n, 2u);
  EXPECT_FALSE(PairedRatioWithInterval({NAN}, {1}).has_value());
}

}  // namespace
}  // namespace paci::study
