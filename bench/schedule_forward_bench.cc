// GPipe's forward against the same forward under 1F1B-flush (issue 24): both schedules train the
// same model, P, K and updates in one process, alternating, and the bench prints per stage the
// median forward op time of each (wall and CPU), their ratio, minor page faults and tokens/s. Before the
// executor's memory plan (exec/runtime/memory_plan.h) GPipe's forwards were 3-6x slower here:
// its K in-flight records were freed together at every flush and faulted in again.
// A third arm is the control: 1F1B-flush again, given GPipe's K records per stage and using them in
// rotation (RecordControl), so each of its forwards, like each of GPipe's, writes a record the
// caches lost K ops ago instead of the one its last backward has just read. "gpipe / control" near
// 1 says the rest of the gap is the schedule's memory traffic, not the executor.
//   schedule_forward_bench L C NH T B P K UPDATES REPEATS
// e.g. 4 64 4 64 8 2 4 40 3: the issue's `paci train --schedule gpipe --stages 2 --accum 4
// --updates 40 --layers 4 --dim 64 --heads 4 --seq 64 --microbatch-size 8`, 3 runs of each.
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "exec/model/rng.h"
#include "exec/model/threads.h"
#include "exec/runtime/pipeline_trainer.h"
#include "sched/pipeline_spec.h"
#include "sched/schedule_generator.h"

namespace {

using namespace paci;
using namespace paci::exec;

int64_t ThreadCpuNs() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

// Forward op times per stage, in ns: wall (the op's start to end) and CPU. The CPU backend reports
// each op on its stage's thread right after running it, so the thread's CPU clock between two
// reports is the op's CPU time (one kernel thread per stage): unlike wall time, it does not grow
// while other processes hold the core, the state of this shared box.
class ForwardTimes : public TraceSink {
 public:
  explicit ForwardTimes(uint32_t stages) : wall(stages), cpu(stages), last_cpu_(stages, -1) {}
  void OnOp(const ir::TraceEvent& e) override {
    const int64_t now = ThreadCpuNs();
    const uint32_t s = e.stage();
    if (e.kind() == ir::FORWARD) {
      wall[s].push_back(e.end_ns() - e.start_ns());
      if (last_cpu_[s] >= 0) cpu[s].push_back(now - last_cpu_[s]);
    }
    last_cpu_[s] = now;
  }
  std::vector<std::vector<int64_t>> wall, cpu;

 private:
  std::vector<int64_t> last_cpu_;  // per stage, touched by that stage's thread only
};

double MedianMs(std::vector<int64_t> v) {
  if (v.empty()) return 0.0;
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(v.size() / 2), v.end());
  return static_cast<double>(v[v.size() / 2]) / 1e6;
}

struct RunResult {
  std::vector<double> forward_ms, forward_cpu_ms;  // medians per stage
  double tokens_per_s = 0.0;
  long faults = 0;
};

RunResult RunOnce(ir::ScheduleKind kind, uint32_t P, uint32_t K, uint32_t updates, PipelineConfig pc,
                  const DataSplit& data, uint32_t rotated_records = 0) {
  pc.record_control.min_per_chunk = rotated_records;
  Result<ir::PipelineSpec> spec = SpecFor(kind, P, K, uint64_t{updates} * K);
  Result<ir::Schedule> schedule = spec.ok() ? GenerateSchedule(*spec) : Result<ir::Schedule>(spec.status());
  if (!schedule.ok()) {
    std::fprintf(stderr, "%s\n", schedule.status().message().c_str());
    std::exit(2);
  }
  ForwardTimes times(P);
  rusage before{}, after{};
  getrusage(RUSAGE_SELF, &before);
  Result<PipelineResult> r = TrainPipelineThreads(*schedule, pc, data, &times);
  getrusage(RUSAGE_SELF, &after);
  if (!r.ok()) {
    std::fprintf(stderr, "%s\n", r.status().message().c_str());
    std::exit(1);
  }
  RunResult out;
  for (auto& v : times.wall) out.forward_ms.push_back(MedianMs(v));
  for (auto& v : times.cpu) out.forward_cpu_ms.push_back(MedianMs(v));
  const double tokens = static_cast<double>(r->updates.back().tokens());
  out.tokens_per_s = r->op_span_seconds > 0 ? tokens / r->op_span_seconds : 0.0;
  out.faults = after.ru_minflt - before.ru_minflt;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 10) {
    std::fprintf(stderr, "usage: %s L C NH T B P K UPDATES REPEATS\n", argv[0]);
    return 2;
  }
  int a[9];
  for (int i = 0; i < 9; ++i) a[i] = std::atoi(argv[i + 1]);
  const uint32_t P = static_cast<uint32_t>(a[5]), K = static_cast<uint32_t>(a[6]);
  const uint32_t updates = static_cast<uint32_t>(a[7]);
  const int repeats = a[8];
  PipelineConfig pc;
  TrainConfig& t = pc.train;
  t.model.vocab_size = 256;
  t.model.n_layer = a[0];
  t.model.n_embd = a[1];
  t.model.n_head = a[2];
  t.model.block_size = a[3];
  t.B = a[4];
  t.grad_clip = 0.0f;  // pipelines have no global clipping
  t.eval_batches = 1;
  exec_set_threads(1);  // as `paci train`'s stage threads: one kernel thread each
  // Random tokens: op times do not depend on their values.
  std::vector<uint16_t> tokens(1 << 20);
  Rng rng{12345};
  for (uint16_t& x : tokens) x = static_cast<uint16_t>(rng_below(&rng, 256));
  const DataSplit data = split_tokens(tokens, 0.05);

  std::printf("L=%d C=%d NH=%d T=%d B=%d P=%u K=%u updates=%u, %d runs of each, alternating\n", a[0], a[1],
              a[2], a[3], a[4], P, K, updates, repeats);
  std::printf("%-4s %-11s %6s %10s %10s %10s %10s\n", "run", "schedule", "stage", "fwd ms", "fwd cpu ms",
              "tokens/s", "faults");
  std::vector<std::vector<double>> ratio(P), cpu_ratio(P), control_ratio(P);
  for (int rep = 0; rep < repeats; ++rep) {
    const RunResult g = RunOnce(ir::GPIPE, P, K, updates, pc, data);
    const RunResult f = RunOnce(ir::ONE_F_ONE_B_FLUSH, P, K, updates, pc, data);
    const RunResult c = RunOnce(ir::ONE_F_ONE_B_FLUSH, P, K, updates, pc, data, K);
    for (uint32_t s = 0; s < P; ++s) {
      for (const auto& [name, r] :
           {std::pair{"gpipe", &g}, std::pair{"1f1b-flush", &f}, std::pair{"control", &c}})
        std::printf("%-4d %-11s %6u %10.3f %10.3f %10.0f %10ld\n", rep, name, s, r->forward_ms[s],
                    r->forward_cpu_ms[s], r->tokens_per_s, r->faults);
      ratio[s].push_back(g.forward_ms[s] / f.forward_ms[s]);
      cpu_ratio[s].push_back(g.forward_cpu_ms[s] / f.forward_cpu_ms[s]);
      control_ratio[s].push_back(g.forward_cpu_ms[s] / c.forward_cpu_ms[s]);
    }
  }
  const auto summary = [&](const char* what, std::vector<double> r, uint32_t s) {
    std::sort(r.begin(), r.end());
    std::printf("stage %u: %s, median of %d runs: %.3f (min %.3f, max %.3f)\n", s, what, repeats,
                r[r.size() / 2], r.front(), r.back());
  };
  for (uint32_t s = 0; s < P; ++s) {
    summary("gpipe / 1f1b-flush forward wall time", ratio[s], s);
    summary("gpipe / 1f1b-flush forward CPU time", cpu_ratio[s], s);
    summary("gpipe / control (1f1b-flush with gpipe's records, rotated) forward CPU time", control_ratio[s],
            s);
  }
  return 0;
}
