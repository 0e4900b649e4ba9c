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

}  // namespace
}  // namespace paci::study
