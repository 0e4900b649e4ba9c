#include "exec/model/colocation_probe.h"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
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

// One micro-batch's work on a stage: forward, backward-input, backward-weight.
void MicroBatch(SliceBench& b) {
  b.Forward();
  b.BackwardInput();
  b.BackwardWeight();
}

// A step's time from its first wait to its optimizer step's end (the waits in it), the time of
// its ops alone (the waits left out) and their CPU time on the stage thread's clock.
struct StepTime {
  double wall_ns = 0, ops_ns = 0, ops_cpu_ns = 0;
};

// `fn`'s wall time added to ops_ns and its thread CPU time to ops_cpu_ns.
template <typename Fn>
void TimeOps(StepTime* t, Fn&& fn) {
  const double cpu0 = ThreadCpuNs();
  t->ops_ns += TimeOp(fn).wall_ns;
  t->ops_cpu_ns += ThreadCpuNs() - cpu0;
}

StepTime Step(SliceBench& b) {
  StepTime t;
  TimeOps(&t, [&] {
    for (int m = 0; m < kMicroBatchesPerStep; ++m) MicroBatch(b);
    b.Optimizer();
  });
  t.wall_ns = t.ops_ns;
  return t;
}

// Stages that share CPUs hand work on like a pipeline's: stage i's micro-batch m waits for stage
// i - 1's (stage 0 runs up to n ahead of the last stage), each handing on through a condition
// variable as the threads transport does. So a stage that is woken waits for a time slice, and
// the CPUs idle while the runnable stages wait for one that is descheduled; free-running threads
// never block and measured neither (x1.9 for 4 stages on 2 CPUs, where a run kept the CPUs 89 %
// busy: bench/README.md, "Prediction accuracy").
class Relay {
 public:
  explicit Relay(size_t n) : done_(n, 0) {}
  // Blocks until stage i may run its micro-batch m; false once stopped.
  bool Wait(size_t i, int64_t m) {
    const size_t n = done_.size(), prev = (i + n - 1) % n;
    const int64_t need = i == 0 ? m - static_cast<int64_t>(n) + 1 : m + 1;
    std::unique_lock l(mu_);
    cv_.wait(l, [&] { return stop_ || done_[prev] >= need; });
    return !stop_;
  }
  void Done(size_t i) {
    {
      std::lock_guard l(mu_);
      ++done_[i];
    }
    cv_.notify_all();
  }
  void Stop() {
    {
      std::lock_guard l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int64_t> done_;
  bool stop_ = false;
};

// A stage's step handing on through `relay`; wall_ns < 0 once the relay stopped.
StepTime RelayedStep(SliceBench& b, Relay& relay, size_t i, int64_t* micro_batch) {
  const auto start = std::chrono::steady_clock::now();
  StepTime t;
  for (int m = 0; m < kMicroBatchesPerStep; ++m) {
    if (!relay.Wait(i, *micro_batch)) return {-1, 0, 0};
    TimeOps(&t, [&] { MicroBatch(b); });
    ++*micro_batch;
    relay.Done(i);
  }
  TimeOps(&t, [&] { b.Optimizer(); });
  t.wall_ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
  return t;
}

// Runs steps on the stages `who` at once for about `seconds` (each at least kMinSteps; at most
// 10 x seconds in all) and returns each one's step time, in `who`'s order: the median when one
// runs alone (its undisturbed speed: a preempted step is an outlier), the mean when several
// share the CPUs (their throughput: with more threads than CPUs the scheduler's time slices make
// some steps run uninterrupted and others wait, and the median would count only the former).
// With `relay` the stages hand on micro-batches as a pipeline's do (Relay), and ops_ns leaves
// out the waits; otherwise it equals wall_ns.
std::vector<StepTime> RunTogether(const ProfileOptions& o, Stages& st, const std::vector<int>& who,
                                  double seconds, bool relay = false) {
  const size_t n = who.size();
  std::vector<std::vector<double>> samples(n), op_samples(n), cpu_samples(n);
  std::vector<std::atomic<int>> done(n);
  std::atomic<size_t> ready{0};
  std::atomic<bool> stop{false};
  Relay hand_on(n);
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
      // A relay's first step waits for the pipeline to fill: not counted.
      int64_t micro_batch = 0;
      for (bool first = true; !stop.load(); first = false) {
        const StepTime t = relay ? RelayedStep(b, hand_on, i, &micro_batch) : Step(b);
        if (t.wall_ns < 0) break;
        if (relay && first) continue;
        samples[i].push_back(t.wall_ns);
        op_samples[i].push_back(t.ops_ns);
        cpu_samples[i].push_back(t.ops_cpu_ns);
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
  hand_on.Stop();
  for (std::thread& th : pool) th.join();
  auto typical = [&](std::vector<double>& v) {
    return v.empty() ? 0.0
           : n == 1  ? MedianOf(std::move(v))
                     : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  };
  std::vector<StepTime> times;
  for (size_t i = 0; i < n; ++i)
    times.push_back({typical(samples[i]), typical(op_samples[i]), typical(cpu_samples[i])});
  return times;
}

void Add(const StepTime& t, StepTime* sum) {
  sum->wall_ns += t.wall_ns;
  sum->ops_ns += t.ops_ns;
  sum->ops_cpu_ns += t.ops_cpu_ns;
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
  std::vector<double> ratios, op_ratios, cpu_ratios;
  for (int r = 0; r < kRounds; ++r) {
    StepTime alone, together;
    for (int s = 0; s < stages; ++s) Add(RunTogether(o, st, {s}, alone_s)[0], &alone);
    for (const StepTime& t : RunTogether(o, st, all, together_s, /*relay=*/!pinned)) Add(t, &together);
    if (!(alone.wall_ns > 0 && together.wall_ns > 0))  // a stage that made no whole step in 10 x its time
      return Status::Internal(
          fmt::format("co-location of {} stages: a stage made no step in {:.1f} s", stages, 10 * together_s));
    ratios.push_back(together.wall_ns / alone.wall_ns);
    op_ratios.push_back(together.ops_ns / alone.wall_ns);
    if (alone.ops_cpu_ns > 0) cpu_ratios.push_back(together.ops_cpu_ns / alone.ops_cpu_ns);
  }
  double mean = 0, m2 = 0;
  for (double x : ratios) mean += x / kRounds;
  for (double x : ratios) m2 += (x - mean) * (x - mean);
  ir::ColocationFactor c;
  c.set_stages(static_cast<uint32_t>(stages));
  c.set_slowdown(MedianOf(ratios));
  c.set_rse(std::sqrt(m2 / (kRounds - 1) / kRounds) / mean);
  c.set_pinned(pinned);
  if (!pinned) c.set_op_stretch(MedianOf(op_ratios));
  // The thread's clock sees only its own kernel thread's work.
  if (o.threads == 1 && cpu_ratios.size() == static_cast<size_t>(kRounds))
    c.set_op_cpu_stretch(MedianOf(cpu_ratios));
  return c;
}

}  // namespace paci::exec
