// Times `paci train`'s update (forward, backward, clip, AdamW) on random tokens and prints one
// line "paci_train_step tokens_per_s=... tokens_per_cpu_s=... ...". bench/train_step_vs_torch.py
// runs it beside the same step in PyTorch.
//   train_step_bench L C NH T B V STEPS THREADS [--breakdown] [--peak]
// --breakdown: a table of where the step's time goes, per kernel class (exec/model/kernel_clock.h).
// --peak: this core's fp32 FMA peak, measured with a tight loop, and the step's fraction of it.
// Times are wall and CPU (process CPU seconds): on a shared machine the CPU figure is the one
// that does not depend on what the other processes do.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "exec/model/kernel_clock.h"
#include "exec/model/rng.h"
#include "exec/model/threads.h"
#include "exec/model/train.h"
#include "proto/exit_codes.h"

namespace {

using namespace paci::exec;

// FLOPs of one training step as the model defines them (multiply-add = 2): per block the four
// linear layers (24 N C^2) and attention's QK^T and PV on full T x T matrices (4 N T C); the head's
// logits (2 N C V); the backward does twice the forward.
double step_flops(const GPTConfig& m, int B) {
  const double N = static_cast<double>(B) * m.block_size, C = m.n_embd, T = m.block_size;
  const double fwd = m.n_layer * (24.0 * N * C * C + 4.0 * N * T * C) + 2.0 * N * C * m.vocab_size;
  return 3.0 * fwd;
}

// The core's fp32 peak in GFLOP per CPU-second: independent FMA chains on the widest vectors this
// build targets (-march=native), enough of them to cover the FMA latency on every core we know.
// A peak is a maximum, and a shared or virtual core's clock varies from moment to moment, so this
// is the best of many short trials, not the mean of one long one.
double fma_trial_gflops() {
#if defined(__AVX512F__)
  constexpr int kLanes = 16;
#elif defined(__AVX__)
  constexpr int kLanes = 8;
#else
  constexpr int kLanes = 4;
#endif
  typedef float Vec __attribute__((vector_size(kLanes * sizeof(float))));
  constexpr int kChains = 12;
  constexpr long kIters = 2'000'000;
  Vec acc[kChains] = {}, mul = {}, add = {};
  for (int l = 0; l < kLanes; l++) mul[l] = 0.999999f, add[l] = 1e-7f;
  for (int c = 0; c < kChains; c++)
    for (int l = 0; l < kLanes; l++) acc[c][l] = static_cast<float>(c + l);
  const double t0 = thread_cpu_seconds();
  for (long i = 0; i < kIters; i++) {
    for (int c = 0; c < kChains; c++) acc[c] = acc[c] * mul + add;  // contracted to one FMA
    asm volatile("" : "+x"(mul), "+x"(add));  // keeps the loop from being folded, operands in registers
  }
  const double s = thread_cpu_seconds() - t0;
  float sink = 0.0f;
  for (int c = 0; c < kChains; c++) sink += acc[c][0];
  if (sink == 12345.0f) std::printf(" ");  // keeps the result live
  return 2.0 * kLanes * kChains * kIters / s / 1e9;
}

double fma_peak_gflops() {
  double best = 0.0;
  for (int trial = 0; trial < 20; trial++) best = std::max(best, fma_trial_gflops());
  return best;
}

void print_breakdown(const KernelTimes& k, double step_cpu_s, int steps) {
  std::printf("%-30s %7s %12s %7s %9s\n", "kernel class", "calls", "ms/step(cpu)", "share", "GFLOP/s");
  double timed = 0.0;
  for (int i = 0; i < static_cast<int>(KernelOp::kCount); i++) {
    if (k.calls[i] == 0) continue;
    timed += k.seconds[i];
    const double ms = 1000.0 * k.seconds[i] / steps;
    std::printf("%-30s %7ld %12.3f %6.1f%% ", kernel_op_name(static_cast<KernelOp>(i)), k.calls[i] / steps,
                ms, 100.0 * k.seconds[i] / step_cpu_s);
    if (k.flops[i] > 0)
      std::printf("%9.1f\n", k.flops[i] / k.seconds[i] / 1e9);
    else
      std::printf("%9s\n", "-");
  }
  const double rest = step_cpu_s - timed;
  std::printf("%-30s %7s %12.3f %6.1f%%\n", "untimed (copies, residuals)", "", 1000.0 * rest / steps,
              100.0 * rest / step_cpu_s);
}

int RunBench(int argc, char** argv) {
  bool breakdown = false, peak = false;
  int npos = 0;
  char* pos[8];
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "--breakdown") == 0)
      breakdown = true;
    else if (std::strcmp(argv[i], "--peak") == 0)
      peak = true;
    else if (npos < 8 && argv[i][0] != '-')
      pos[npos++] = argv[i];
    else {
      std::fprintf(stderr, "train_step_bench: unknown argument '%s'\n", argv[i]);
      return 2;
    }
  }
  if (npos != 8) {
    std::fprintf(stderr,
                 "usage: train_step_bench LAYERS DIM HEADS SEQ BATCH VOCAB STEPS THREADS "
                 "[--breakdown] [--peak]\n");
    return 2;
  }
  TrainConfig c;
  c.model.n_layer = std::atoi(pos[0]);
  c.model.n_embd = std::atoi(pos[1]);
  c.model.n_head = std::atoi(pos[2]);
  c.model.block_size = std::atoi(pos[3]);
  c.B = std::atoi(pos[4]);
  c.model.vocab_size = std::atoi(pos[5]);
  const int steps = std::atoi(pos[6]);
  if (steps < 1) {
    std::fprintf(stderr, "train_step_bench: STEPS must be at least 1\n");
    return 2;
  }
  exec_set_threads(std::atoi(pos[7]));
  c.updates = steps + 3;
  Rng r{1};
  std::vector<uint16_t> tokens(1 << 20);
  for (uint16_t& t : tokens) t = static_cast<uint16_t>(rng_below(&r, c.model.vocab_size));
  paci::Result<Trainer> tr = trainer_create(c, split_tokens(tokens));
  if (!tr.ok()) {
    std::fprintf(stderr, "train_step_bench: %s\n", tr.status().message().c_str());
    return 2;
  }
  for (int i = 0; i < 3; i++) trainer_step(&*tr);  // warm-up: allocations, page faults
  KernelTimes kt;
  const auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = process_cpu_seconds(), tcpu0 = thread_cpu_seconds();
  {
    KernelClockScope scope(breakdown ? &kt : nullptr);
    for (int i = 0; i < steps; i++) trainer_step(&*tr);
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = process_cpu_seconds() - cpu0, tcpu = thread_cpu_seconds() - tcpu0;
  const double tok = static_cast<double>(c.B) * c.model.block_size * steps;
  const double flops = step_flops(c.model, c.B) * steps;
  std::printf(
      "paci_train_step tokens_per_s=%.1f tokens_per_cpu_s=%.1f ms_per_step=%.3f gflops=%.2f "
      "gflops_per_cpu_s=%.2f threads=%d gemm=%s\n",
      tok / s, tok / cpu, 1000.0 * s / steps, flops / s / 1e9, flops / cpu / 1e9, exec_threads(),
      exec_gemm_backend());
  if (breakdown) print_breakdown(kt, tcpu, steps);
  if (peak) {
    const double p = fma_peak_gflops();
    std::printf("fma_peak gflops_per_cpu_s=%.2f step_fraction=%.3f\n", p, flops / cpu / 1e9 / p);
  }
  return 0;
}

}  // namespace

// The program's one exception boundary (proto/exit_codes.h): bad flags exit 2, failures 1.
int main(int argc, char** argv) {
  return paci::ExitBoundary([] { return "train_step_bench"; }, [&] { return RunBench(argc, argv); });
}
