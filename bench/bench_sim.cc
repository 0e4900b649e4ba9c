// Simulator speed: simulated ops per second (all op kinds: compute, send, receive, optimizer
// step) for long PACI and 1F1B-flush runs at P = 8 and P = 64, with communication costs and
// memory accounting on and no trace sink, and the wall time of a 32 x 64 (P x K) PACI sweep.
// Goal (issue 3): >= 10 M simulated ops/s on one core. Results: README.md, "## Simulator".
#include <benchmark/benchmark.h>

#include "proto/exit_codes.h"
#include "sched/pipeline_spec.h"
#include "sched/schedule_generator.h"
#include "sim/simulator.h"
#include "sim/stage_cost_model.h"
#include "sim/sweep.h"

namespace {

using namespace paci;

ir::CostModel BenchCost() {
  sim::UniformCost u;
  u.fwd_ms = 1;
  u.bwd_ms = 2;
  u.opt_ms = 0.5;
  u.latency_us = 10;
  u.bandwidth_gbps = 400;
  u.message_mb = 8;
  u.activation_mb = 256;
  u.weights_mb = 512;
  return sim::MakeCostModel(u);
}

// Args: P, schedule (0 = paci K=8, 1 = 1f1b-flush M=64), total micro-batches.
void BM_Simulate(benchmark::State& state) {
  const uint32_t P = static_cast<uint32_t>(state.range(0));
  const bool paci = state.range(1) == 0;
  Result<ir::PipelineSpec> spec = SpecFor(paci ? ir::PACI : ir::ONE_F_ONE_B_FLUSH, P, paci ? 8 : 64,
                                          static_cast<uint64_t>(state.range(2)));
  if (!spec.ok()) return state.SkipWithError(spec.status().message().c_str());
  Result<ir::Schedule> schedule = GenerateSchedule(*spec);
  if (!schedule.ok()) return state.SkipWithError(schedule.status().message().c_str());
  const ir::CostModel cost = BenchCost();
  uint64_t ops = 0;
  for (auto _ : state) {
    Result<sim::SimulationResult> r = sim::Simulate(*schedule, cost);
    if (!r.ok()) return state.SkipWithError(r.status().message().c_str());
    ops += r->ops;
    benchmark::DoNotOptimize(r->makespan_ns);
  }
  state.counters["ops_per_s"] = benchmark::Counter(static_cast<double>(ops), benchmark::Counter::kIsRate);
  state.counters["ops_per_run"] = static_cast<double>(ops) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_Simulate)
    ->ArgNames({"P", "sched", "N"})
    ->Args({8, 0, 1 << 20})
    ->Args({64, 0, 1 << 17})
    ->Args({8, 1, 1 << 20})
    ->Args({64, 1, 1 << 17})
    ->Unit(benchmark::kMillisecond);

// A 32 x 64 sweep: PACI, P = 1..32, K = 1..64, default run length 8 x max(P, K); arg = threads.
void BM_Sweep32x64(benchmark::State& state) {
  sim::SweepGrid grid;
  grid.schedules = {ir::PACI};
  for (uint32_t p = 1; p <= 32; ++p) grid.stages.push_back(p);
  for (uint32_t k = 1; k <= 64; ++k) grid.accums.push_back(k);
  const ir::CostModel cost = BenchCost();
  uint64_t ops = 0;
  for (auto _ : state) {
    const std::vector<sim::SweepRow> rows = sim::RunSweep(grid, cost, static_cast<unsigned>(state.range(0)));
    for (const sim::SweepRow& r : rows) ops += r.ops;
    benchmark::DoNotOptimize(rows.data());
  }
  state.counters["ops_per_s"] = benchmark::Counter(static_cast<double>(ops), benchmark::Counter::kIsRate);
  state.counters["configs"] = 32 * 64;
}
BENCHMARK(BM_Sweep32x64)->ArgName("threads")->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

// The program's one exception boundary (proto/exit_codes.h): bad flags exit 2, failures 1.
int main(int argc, char** argv) {
  return paci::ExitBoundary([] { return "bench_sim"; },
                            [&] {
                              benchmark::Initialize(&argc, argv);
                              if (benchmark::ReportUnrecognizedArguments(argc, argv))
                                return paci::kExitBadInput;
                              benchmark::RunSpecifiedBenchmarks();
                              benchmark::Shutdown();
                              return 0;
                            });
}
