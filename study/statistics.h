// The statistics a study reports over seeds: the mean, the sample standard deviation and the 95 %
// Student-t interval of the mean. One definition, so final losses, gaps to flush and tokens to a
// target all carry the same interval.
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

}  // namespace paci::study
