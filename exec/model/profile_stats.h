// Robust statistics of repeated op timings for `paci profile`: the median (one preempted
// repetition moves a mean, not a median), its relative standard error from the median absolute
// deviation, the CPU time beside the wall time, and the two halves of the repetitions compared, so
// that a profile can tell a host whose speed drifted while it measured from a quiet one.
#pragma once

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

namespace paci::exec {

// Median of `v` (0 for none); takes a copy because nth_element reorders.
inline double MedianOf(std::vector<double> v) {
  if (v.empty()) return 0;
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<long>(mid), v.end());
  const double hi = v[mid];
  if (v.size() % 2) return hi;
  return (*std::max_element(v.begin(), v.begin() + static_cast<long>(mid)) + hi) / 2;
}

// |a - b| relative to their mean (0 when both are 0).
inline double RelativeDifference(double a, double b) {
  const double m = (a + b) / 2;
  return m > 0 ? std::fabs(a - b) / m : 0.0;
}

// `clock`'s reading in ns.
inline double ClockNs(clockid_t clock) {
  timespec t{};
  clock_gettime(clock, &t);
  return static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_nsec);
}

// CPU time of the whole process (every kernel thread), in ns.
inline double ProcessCpuNs() { return ClockNs(CLOCK_PROCESS_CPUTIME_ID); }

// CPU time of the calling thread, in ns: a stage's own work when it runs one kernel thread.
inline double ThreadCpuNs() { return ClockNs(CLOCK_THREAD_CPUTIME_ID); }

struct OpTime {
  double wall_ns = 0, cpu_ns = 0;
};

// Wall and process CPU time of `fn`. The CPU clock is a system call, read outside the wall
// interval so that its cost does not enter the wall time of short ops.
template <typename Fn>
OpTime TimeOp(Fn&& fn) {
  using Clock = std::chrono::steady_clock;
  const double cpu0 = ProcessCpuNs();
  const auto t0 = Clock::now();
  fn();
  const auto t1 = Clock::now();
  const double cpu1 = ProcessCpuNs();
  return {std::chrono::duration<double, std::nano>(t1 - t0).count(), cpu1 - cpu0};
}

// The samples of one op, in the order they were taken.
struct TimingSamples {
  std::vector<double> wall_ns, cpu_ns;

  void Add(OpTime t) {
    wall_ns.push_back(t.wall_ns);
    cpu_ns.push_back(t.cpu_ns);
  }
  int n() const { return static_cast<int>(wall_ns.size()); }
  double Median() const { return MedianOf(wall_ns); }
  double CpuMedian() const { return MedianOf(cpu_ns); }

  // Relative standard error of the median: 1.4826 x MAD estimates the standard deviation of
  // normal samples, and the median's standard error is sqrt(pi/2) times the mean's.
  double Rse() const {
    const double med = Median();
    if (n() < 2 || med <= 0) return n() < 2 ? INFINITY : 0.0;
    std::vector<double> dev(wall_ns.size());
    std::transform(wall_ns.begin(), wall_ns.end(), dev.begin(), [&](double x) { return std::fabs(x - med); });
    return 1.4826 * MedianOf(std::move(dev)) * 1.2533 / std::sqrt(n()) / med;
  }

  // Medians of the first and the second half of the samples, in time.
  double FirstHalfMedian() const {
    return MedianOf({wall_ns.begin(), wall_ns.begin() + static_cast<long>(wall_ns.size() / 2)});
  }
  double SecondHalfMedian() const {
    return MedianOf({wall_ns.begin() + static_cast<long>(wall_ns.size() / 2), wall_ns.end()});
  }
};

}  // namespace paci::exec
