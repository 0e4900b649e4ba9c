// The statistics a study reports over seeds: the mean, the sample standard deviation and the 95 %
// Student-t interval of the mean for losses and gaps; for positive, skewed quantities (tokens and
// seconds to a target, speed-ups) the geometric mean with the t-interval taken on the logarithms, so
// an interval never goes below zero; and ratios paired by seed. docs/statistics.md derives them.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

namespace paci::study {

// Two-sided 95 % critical value of Student's t with `dof` degrees of freedom (the 97.5 % quantile);
// NaN for dof 0, the normal's 1.960 beyond 30.
double StudentT95(size_t dof);

// Sample standard deviation (n - 1 in the denominator) about `mean`; 0 for fewer than two values.
double SampleStdDev(const std::vector<double>& values, double mean);

// Mean, sample standard deviation and 95 % t-interval of the mean, mean -+ t(n-1) sd / sqrt(n).
// One value: lo = hi = mean (no spread known).
struct MeanInterval {
  size_t n = 0;
  double mean = 0, stddev = 0, lo = 0, hi = 0;
};
// Of the finite values (a run that stored none is NaN and left out); nullopt when there are none.
std::optional<MeanInterval> MeanWithInterval(const std::vector<double>& values);

// For positive quantities: the geometric mean exp(m) and the interval exp(m -+ t(n-1) s / sqrt(n)),
// where m and s are the mean and sample standard deviation of ln(values) (`stddev` holds s). The
// interval is that of the geometric mean, always positive and asymmetric as a count's spread is.
// Of the finite values; nullopt when there are none or one is <= 0 (its log is undefined).
std::optional<MeanInterval> GeometricMeanWithInterval(const std::vector<double>& values);

// The ratio numerator[i] / denominator[i] of pairs that share a seed (same initial weights and data
// order), as GeometricMeanWithInterval of the per-pair ratios: a paired comparison, so seed-to-seed
// variation common to both sides cancels. Pairs with a non-finite or non-positive side are left
// out; nullopt when none is left. The two vectors must have the same length.
std::optional<MeanInterval> PairedRatioWithInterval(const std::vector<double>& numerator,
                                                    const std::vector<double>& denominator);

}  // namespace paci::study
