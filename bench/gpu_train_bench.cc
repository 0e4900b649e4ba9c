// GPU training benchmark, one-GPU mode (exec/cuda/gpu_pipeline.h): trains a GPT (default
// GPT-2-small: 12 layers, 768 wide, 12 heads, T 1024, vocabulary padded to 50304) on random tokens
// with the PACI and 1F1B-flush schedules, every stage on its own stream of one GPU, and prints
// tokens/s, MFU against the card's dense bf16 peak, the step time, and beside it the simulator's
// prediction from a cost model of per-op times measured on the same GPU with the stages serialised:
//   sim P-GPU  = sim::Simulate(schedule, cost): what P separate GPUs would take per step;
//   serial     = the sum of every op's time: what one GPU takes when its streams do not overlap.
// In one-GPU mode the measurement should sit between the two, at `serial` when each kernel fills
// the GPU. Step = one optimizer update = M micro-batches for both schedules (PACI runs with K = M).
// Goal (issue 8): >= 40% MFU in bf16 for GPT-2-small on one H100/H200; a goal, not a test.
#include <algorithm>
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "exec/cuda/cuda_common.h"
#include "exec/cuda/gpu_pipeline.h"
#include "exec/rng.h"
#include "sched/expanded_schedule.h"
#include "sched/schedule_generator.h"
#include "sim/simulator.h"
#include "sim/stage_cost_model.h"  // MsToNs
#include "tools/exit_codes.h"

using namespace paci;
using namespace paci::exec;

namespace {

struct Args {
  int layers = 12, dim = 768, heads = 12, seq = 1024, vocab = 50304, batch = 8;
  int stages = 4, microbatches = 8, steps = 6, warmup_steps = 2;
  std::string precision = "bf16";
};

ir::Schedule Make(ir::ScheduleKind kind, const Args& a, int steps) {
  ir::PipelineSpec spec;
  spec.set_kind(kind);
  spec.set_stages(a.stages);
  if (kind == ir::PACI)
    spec.set_accum(a.microbatches);
  else
    spec.set_microbatches_per_iteration(a.microbatches);
  spec.set_total_microbatches(static_cast<uint64_t>(steps) * a.microbatches);
  Result<ir::Schedule> s = GenerateSchedule(spec);
  if (!s.ok()) {
    std::fprintf(stderr, "schedule: %s\n", s.status().ToString().c_str());
    std::exit(1);
  }
  return *s;
}

// The cost model of one schedule from isolated per-op GPU times. Non-split backwards go to
// backward_input (the simulator adds backward_weight to them, here 0); ZB-style split ones to both.
ir::CostModel CostFrom(const OneGpuRunResult& calib, uint64_t tokens_per_mb) {
  ir::CostModel cost;
  for (const StageOpTimes& t : calib.stage_times) {
    ir::StageCost* s = cost.add_stages();
    const double bwd = t.backward_ms > 0 ? t.backward_ms : t.backward_input_ms;
    s->set_forward_ns(sim::MsToNs(t.forward_ms));
    s->set_backward_input_ns(sim::MsToNs(bwd));
    s->set_backward_weight_ns(sim::MsToNs(t.backward_ms > 0 ? 0.0 : t.backward_weight_ms));
    s->set_optimizer_ns(sim::MsToNs(t.optimizer_ms));
  }
  cost.set_tokens_per_microbatch(tokens_per_mb);
  return cost;
}

Result<std::unique_ptr<OneGpuPipeline>> MakePipeline(const Args& a, const OneGpuConfig& base, bool single,
                                                     const DataSplit& data) {
  OneGpuConfig c = base;
  c.single_stream = single;
  return OneGpuPipeline::Create(c, a.stages, 1, data);
}

}  // namespace

int RunBench(int argc, char** argv) {
  Args a;
  CLI::App app{"GPU training benchmark (one-GPU mode): tokens/s, MFU, step time vs the simulator"};
  app.add_option("--layers", a.layers);
  app.add_option("--dim", a.dim);
  app.add_option("--heads", a.heads);
  app.add_option("--seq", a.seq);
  app.add_option("--vocab", a.vocab, "padded to a multiple of 64 for tensor-core GEMMs (GPT-2: 50304)");
  app.add_option("--batch", a.batch, "sequences per micro-batch");
  app.add_option("--stages", a.stages);
  app.add_option("--microbatches", a.microbatches, "M per step (flush) and K per update (PACI)");
  app.add_option("--steps", a.steps, "timed steps per schedule");
  app.add_option("--warmup-steps", a.warmup_steps);
  app.add_option("--precision", a.precision)->check(CLI::IsMember({"bf16", "fp32"}));
  CLI11_PARSE(app, argc, argv);

  if (cuda_device_count() == 0) {
    std::fprintf(stderr, "gpu_train_bench: no CUDA device\n");
    return 77;
  }
  cudaDeviceProp prop;
  CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  const double peak = gpu_bf16_peak_flops(prop.name);

  OneGpuConfig base;
  base.train.model.n_layer = a.layers;
  base.train.model.n_embd = a.dim;
  base.train.model.n_head = a.heads;
  base.train.model.block_size = a.seq;
  base.train.model.vocab_size = a.vocab;
  base.train.B = a.batch;
  base.train.lr = 6e-4f;
  base.train.warmup = 2;
  base.train.grad_clip = 0;
  base.precision = a.precision == "bf16" ? Precision::kBF16 : Precision::kFP32;
  base.batch_pool = 4;

  // Random tokens: the benchmark measures speed, not learning.
  DataSplit data;
  Rng rng{1};
  data.train.resize(1 << 20);
  for (uint16_t& t : data.train) t = static_cast<uint16_t>(rng_below(&rng, static_cast<uint64_t>(a.vocab)));
  data.val.assign(data.train.begin(), data.train.begin() + (a.seq + 1) * 4);

  const double fpt = gpt_flops_per_token(base.train.model);
  const uint64_t tokens_per_mb = static_cast<uint64_t>(a.batch) * a.seq;
  std::printf("device: %s, %d SMs, %.0f GiB; dense bf16 peak %s\n", prop.name, prop.multiProcessorCount,
              prop.totalGlobalMem / 1073741824.0, peak > 0 ? fmt::format("{:.0f} TFLOP/s", peak / 1e12).c_str() : "unknown");
  std::printf("model: %d layers, %d wide, %d heads, T %d, V %d, %.1fM params, %.3f GFLOP/token; %s, B %d, P %d, M %d\n",
              a.layers, a.dim, a.heads, a.seq, a.vocab, gpt_param_layout(base.train.model).total / 1e6, fpt / 1e9,
              a.precision.c_str(), a.batch, a.stages, a.microbatches);
  std::printf("\n%-12s %10s %9s %7s %12s %12s %8s %12s %8s\n", "schedule", "tokens/s", "TFLOP/s", "MFU",
              "step ms", "sim P-GPU", "err", "serial ms", "err");

  for (ir::ScheduleKind kind : {ir::PACI, ir::ONE_F_ONE_B_FLUSH}) {
    const ir::Schedule warm = Make(kind, a, a.warmup_steps);
    const ir::Schedule timed = Make(kind, a, a.steps);
    // 1. Per-op costs with every op alone on the GPU (one stream).
    OneGpuRunResult calib;
    {
      Result<std::unique_ptr<OneGpuPipeline>> p = MakePipeline(a, base, true, data);
      if (!p.ok()) return std::fprintf(stderr, "%s\n", p.status().ToString().c_str()), 1;
      Result<OneGpuRunResult> w = (*p)->Run(warm, nullptr);
      if (!w.ok()) return std::fprintf(stderr, "%s\n", w.status().ToString().c_str()), 1;
      Result<OneGpuRunResult> r = (*p)->Run(timed, nullptr);
      if (!r.ok()) return std::fprintf(stderr, "%s\n", r.status().ToString().c_str()), 1;
      calib = *r;
    }
    // 2. The pipeline as one-GPU mode runs it: a stream per stage.
    OneGpuRunResult run;
    {
      Result<std::unique_ptr<OneGpuPipeline>> p = MakePipeline(a, base, false, data);
      if (!p.ok()) return std::fprintf(stderr, "%s\n", p.status().ToString().c_str()), 1;
      Result<OneGpuRunResult> w = (*p)->Run(warm, nullptr);
      if (!w.ok()) return std::fprintf(stderr, "%s\n", w.status().ToString().c_str()), 1;
      Result<OneGpuRunResult> r = (*p)->Run(timed, nullptr);
      if (!r.ok()) return std::fprintf(stderr, "%s\n", r.status().ToString().c_str()), 1;
      run = *r;
    }
    // 3. Predictions.
    Result<sim::SimulationResult> sim = sim::Simulate(timed, CostFrom(calib, tokens_per_mb));
    if (!sim.ok()) return std::fprintf(stderr, "simulate: %s\n", sim.status().ToString().c_str()), 1;
    const double steps = static_cast<double>(std::max<uint64_t>(1, run.updates));
    const double step_ms = run.wall_ms / steps;
    const double sim_ms = sim->makespan_ms() / steps;
    const double serial_ms = calib.compute_ms / steps;
    const double tps = run.tokens / (run.wall_ms / 1e3);
    const double tflops = tps * fpt / 1e12;
    const auto err = [&](double pred) { return fmt::format("{:+.1f}%", 100.0 * (pred - step_ms) / step_ms); };
    std::printf("%-12s %10.0f %9.1f %6.1f%% %12.2f %12.2f %8s %12.2f %8s\n",
                kind == ir::PACI ? "paci" : "1f1b-flush", tps, tflops, peak > 0 ? 100.0 * tflops * 1e12 / peak : 0.0,
                step_ms, sim_ms, err(sim_ms).c_str(), serial_ms, err(serial_ms).c_str());
    for (size_t s = 0; s < calib.stage_times.size(); s++) {
      const StageOpTimes& t = calib.stage_times[s];
      std::printf("    stage %zu alone: F %.2f ms, B %.2f ms, opt %.2f ms\n", s, t.forward_ms, t.backward_ms,
                  t.optimizer_ms);
    }
    std::printf("    most saved-activation memory on one stage %.2f GiB; last loss %.3f\n",
                run.peak_bytes / 1073741824.0, run.update_losses.empty() ? 0.0f : run.update_losses.back());
  }
  return 0;
}

// The program's one exception boundary (tools/exit_codes.h): bad flags exit 2, failures 1.
int main(int argc, char** argv) {
  return paci::ExitBoundary([] { return "gpu_train_bench"; }, [&] { return RunBench(argc, argv); });
}
