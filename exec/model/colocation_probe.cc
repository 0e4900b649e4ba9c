#include "exec/model/colocation_probe.h"

#include <atomic>
#include <chrono>
#include <numeric>
#include <thread>
#include <vector>

#include "exec/model/affinity.h"
#include "exec/model/profile_stats.h"
#include "exec/model/slice_bench.h"
#include "exec/model/threads.h"

namespace paci::exec {
namespace {

constexpr int kRounds = 3;               // alone, then together, this many times
constexpr int kMicroBatchesPerStep = 2;  // forward + backward pairs between two optimizer steps
constexpr int kMinSteps = 3;             // per thread and phase, however long it takes

struct Stages {
  std::vector<SliceBench> benches;
  std::vector<std::vector<int>> cpus;  // per stage; all empty when the stages are not pinned
};

double Step(SliceBench& b) {
  return TimeOp([&] {
           for (int m = 0; m < kMicroBatchesPerStep; ++m) {
             b.Forward();
             b.BackwardInput();
             b.BackwardWeight();
           }
           b.Optimizer();
         })
      .wall_ns;
}

// Runs steps on the stages `who` at once for about `seconds` (each at least kMinSteps; at most
// 10 x seconds in all) and returns each one's step time, in `who`'s order: the median when one
// runs alone (its undisturbed speed: a preempted step is an outlier), the mean when several
// share the CPUs (their throughput: with more threads than CPUs the scheduler's time slices make
// some steps run uninterrupted and others wait, and the median would count only the former).
std::vector<double> RunTogether(const ProfileOptions& o, Stages& st, const std::vector<int>& who,
                                double seconds) {
  const size_t n = who.size();
  std::vector<std::vector<double>> samples(n);
  std::vector<std::atomic<int>> done(n);
  std::atomic<size_t> ready{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> pool;
  for (size_t i = 0; i < n; ++i) {
    pool.emplace_back([&, i] {
      const int s = who[i];
      if (!st.cpus[static_cast<size_t>(s)].empty()) (void)pin_this_thread(st.cpus[static_cast<size_t>(s)]);
      exec_set_threads(o.threads);
      SliceBench& b = st.benches[static_cast<size_t>(s)];
      Step(b);  // warm-up on this CPU, untimed
      ready.fetch_add(1);
      while (ready.load() < n) std::this_thread::yield();
      // Every thread keeps stepping until all have enough samples, so each sample overlaps others.
      while (!stop.load()) {
        samples[i].push_back(Step(b));
        done[i].fetch_add(1);
      }
    });
  }
  while (ready.load() < n) std::this_thread::yield();
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    bool enough = true;
    for (const std::atomic<int>& d : done) enough = enough && d.load() >= kMinSteps;
    if ((el > seconds && enough) || el > 10 * seconds) break;
  }
  stop.store(true);
  for (std::thread& th : pool) th.join();
  std::vector<double> times;
  for (std::vector<double>& v : samples)
    times.push_back(n == 1 ? MedianOf(std::move(v))
                           : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size()));
  return times;
}

}  // namespace

std::pair<int, int> ColocationSlice(int layers, int stages, int s) {
  if (stages >= layers) return {s % layers, s % layers + 1};
  return {s * layers / stages, (s + 1) * layers / stages};
}

Result<ir::ColocationFactor> MeasureColocation(const ProfileOptions& o, int stages) {
  Stages st;
  const int layers = gpt_num_layers(o.model);
  for (int s = 0; s < stages; ++s) {
    const auto [first, last] = ColocationSlice(layers, stages, s);
    Result<SliceBench> b = SliceBench::Create(o.model, first, last, o.B, o.seed + static_cast<uint64_t>(s));
    if (!b.ok()) return b.status();
    st.benches.push_back(std::move(*b));
  }
  // As `paci train --pin auto` plans it (tools/pipeline_train.cc): every stage on its own CPUs
  // when all fit, otherwise none pinned and the OS shares the CPUs.
  const std::vector<int> allowed = allowed_cpus();
  st.cpus.resize(static_cast<size_t>(stages));
  const bool pinned = !stage_cpus(allowed, stages - 1, o.threads).empty();
  if (pinned)
    for (int s = 0; s < stages; ++s) st.cpus[static_cast<size_t>(s)] = stage_cpus(allowed, s, o.threads);
  std::vector<int> all(static_cast<size_t>(stages));
  for (int s = 0; s < stages; ++s) all[static_cast<size_t>(s)] = s;
  const double together_s = o.colocation_seconds / (2 * kRounds), alone_s = together_s / stages;
  std::vector<double> ratios;
  for (int r = 0; r < kRounds; ++r) {
    double alone = 0, together = 0;
    for (int s = 0; s < stages; ++s) alone += RunTogether(o, st, {s}, alone_s)[0];
    for (double t : RunTogether(o, st, all, together_s)) together += t;
    ratios.push_back(together / alone);
  }
  double mean = 0, m2 = 0;
  for (double x : ratios) mean += x / kRounds;
  for (double x : ratios) m2 += (x - mean) * (x - mean);
  ir::ColocationFactor c;
  c.set_stages(static_cast<uint32_t>(stages));
  c.set_slowdown(MedianOf(ratios));
  c.set_rse(std::sqrt(m2 / (kRounds - 1) / kRounds) / mean);
  c.set_pinned(pinned);
  return c;
}

}  // namespace paci::exec
