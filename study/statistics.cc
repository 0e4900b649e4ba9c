#include "study/statistics.h"

#include <cmath>

namespace paci::study {

double StudentT95(size_t dof) {
  // Two-sided 97.5 % quantiles of Student's t for 1..30 degrees of freedom; the normal's beyond.
  static constexpr double kTable[30] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
                                        2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
                                        2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
                                        2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
  if (dof == 0) return NAN;
  return dof <= 30 ? kTable[dof - 1] : 1.960;
}

double SampleStdDev(const std::vector<double>& values, double mean) {
  if (values.size() < 2) return 0.0;
  double squares = 0;
  for (double x : values) squares += (x - mean) * (x - mean);
  return std::sqrt(squares / static_cast<double>(values.size() - 1));
}

std::optional<MeanInterval> MeanWithInterval(const std::vector<double>& values) {
  std::vector<double> v;
  for (double x : values)
    if (std::isfinite(x)) v.push_back(x);
  if (v.empty()) return std::nullopt;
  MeanInterval r;
  r.n = v.size();
  const double n = static_cast<double>(v.size());
  for (double x : v) r.mean += x;
  r.mean /= n;
  r.stddev = SampleStdDev(v, r.mean);
  const double half = v.size() > 1 ? StudentT95(v.size() - 1) * r.stddev / std::sqrt(n) : 0.0;
  r.lo = r.mean - half;
  r.hi = r.mean + half;
  return r;
}

std::optional<MeanInterval> GeometricMeanWithInterval(const std::vector<double>& values) {
  std::vector<double> logs;
  for (double x : values) {
    if (!std::isfinite(x)) continue;
    if (x <= 0) return std::nullopt;
    logs.push_back(std::log(x));
  }
  const std::optional<MeanInterval> m = MeanWithInterval(logs);
  if (!m) return std::nullopt;
  return MeanInterval{m->n, std::exp(m->mean), m->stddev, std::exp(m->lo), std::exp(m->hi)};
}

std::optional<MeanInterval> PairedRatioWithInterval(const std::vector<double>& numerator,
                                                    const std::vector<double>& denominator) {
  std::vector<double> ratios;
  for (size_t i = 0; i < numerator.size() && i < denominator.size(); ++i) {
    const double a = numerator[i], b = denominator[i];
    if (std::isfinite(a) && std::isfinite(b) && a > 0 && b > 0) ratios.push_back(a / b);
  }
  return GeometricMeanWithInterval(ratios);
}

}  // namespace paci::study
