// AdamW, schedule and clipping. See adamw.h.
#include "exec/model/adamw.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "exec/model/kernel_clock.h"

namespace paci::exec {

AdamW adamw_create(const AdamWConfig& cfg, const ParamLayout& layout, size_t param_offset, size_t n) {
  AdamW opt;
  opt.cfg = cfg;
  opt.param_offset = param_offset;
  opt.m.assign(n, 0.0f);
  opt.v.assign(n, 0.0f);
  opt.decay.assign(n, 0);
  for (const ParamSpec& s : layout.tensors) {
    if (!s.decay || s.offset + s.numel <= param_offset || s.offset >= param_offset + n) continue;
    const size_t lo = std::max(s.offset, param_offset), hi = std::min(s.offset + s.numel, param_offset + n);
    std::fill(opt.decay.begin() + (lo - param_offset), opt.decay.begin() + (hi - param_offset), 1);
  }
  return opt;
}

void adamw_update(AdamW* opt, float* params, const float* grads, float lr, float grad_scale) {
  KernelTimer timer(KernelOp::kOptimizer, 0);
  opt->step++;
  const AdamWConfig& c = opt->cfg;
  const float bc1 = 1.0f - std::pow(c.beta1, static_cast<float>(opt->step));
  const float bc2 = 1.0f - std::pow(c.beta2, static_cast<float>(opt->step));
  const long n = static_cast<long>(opt->m.size());
  // __restrict and a branch-free decay (x - 0 * x == x) let the compiler vectorise the loop; the
  // arithmetic per element is the same as the plain form, so results are bit-identical to it.
  float* __restrict m = opt->m.data();
  float* __restrict v = opt->v.data();
  float* __restrict p = params;
  const float* __restrict g = grads;
  const uint8_t* __restrict decay = opt->decay.data();
  const float b1 = c.beta1, b2 = c.beta2, one_b1 = 1.0f - c.beta1, one_b2 = 1.0f - c.beta2;
  const float decay_step = lr * c.weight_decay, eps = c.eps;
#pragma omp parallel for schedule(static) if (n >= (1 << 15))
  for (long i = 0; i < n; i++) {
    // g * 1.0f == g, so an unclipped step is bit-identical to the plain form; a clipped one is
    // bit-identical to scaling the gradients first, without that extra pass over them.
    const float gi = g[i] * grad_scale;
    const float mi = b1 * m[i] + one_b1 * gi;
    const float vi = b2 * v[i] + one_b2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    const float mhat = mi / bc1, vhat = vi / bc2;
    // Decoupled decay (torch.optim.AdamW order: decay first, then the Adam step).
    float pi = p[i];
    pi -= (decay[i] != 0 ? decay_step : 0.0f) * pi;
    p[i] = pi - lr * mhat / (std::sqrt(vhat) + eps);
  }
}

float lr_schedule(int64_t step, float lr, int64_t warmup, int64_t total_steps, float min_frac) {
  if (step < warmup) return lr * static_cast<float>(step + 1) / static_cast<float>(warmup + 1);
  const float min_lr = lr * min_frac;
  if (step >= total_steps) return min_lr;
  const double ratio = static_cast<double>(step - warmup) / static_cast<double>(std::max<int64_t>(1, total_steps - warmup));
  const double coeff = 0.5 * (1.0 + std::cos(M_PI * ratio));
  return static_cast<float>(min_lr + coeff * (lr - min_lr));
}

double grad_sq_norm(const float* grads, size_t n) {
  KernelTimer timer(KernelOp::kOptimizer, 0);
  // One serial chain of double adds is latency-bound (~0.15 s on GPT-2-small's 124 M floats).
  // Fixed blocks, each summed in 8 independent lanes, then the blocks in order: the order of every
  // add depends on n alone, so the sum is the same for any thread count.
  constexpr size_t kBlock = 1 << 14, kLanes = 8;
  const long blocks = static_cast<long>((n + kBlock - 1) / kBlock);
  std::vector<double> block_sum(static_cast<size_t>(blocks), 0.0);
#pragma omp parallel for schedule(static) if (blocks > 4)
  for (long b = 0; b < blocks; b++) {
    const size_t lo = static_cast<size_t>(b) * kBlock, hi = std::min(n, lo + kBlock);
    double lane[kLanes] = {};
    size_t i = lo;
    for (; i + kLanes <= hi; i += kLanes)
      for (size_t j = 0; j < kLanes; j++) lane[j] += static_cast<double>(grads[i + j]) * grads[i + j];
    for (; i < hi; i++) lane[0] += static_cast<double>(grads[i]) * grads[i];
    double s = 0.0;
    for (double x : lane) s += x;
    block_sum[static_cast<size_t>(b)] = s;
  }
  double s = 0.0;
  for (double x : block_sum) s += x;
  return s;
}

void zero_floats(float* x, size_t n) {
  // Zeroing GPT-2-small's gradients is 0.5 GB of stores: split it so both cores' bandwidth helps.
  constexpr size_t kChunk = 1 << 16;
  const long chunks = static_cast<long>((n + kChunk - 1) / kChunk);
#pragma omp parallel for schedule(static) if (chunks > 4)
  for (long c = 0; c < chunks; c++) {
    const size_t lo = static_cast<size_t>(c) * kChunk;
    std::memset(x + lo, 0, (std::min(n, lo + kChunk) - lo) * sizeof(float));
  }
}

float grad_clip_scale(double global_sq_norm, float max_norm) {
  if (max_norm <= 0.0f) return 1.0f;
  const double norm = std::sqrt(global_sq_norm);
  return norm > max_norm ? static_cast<float>(max_norm / (norm + 1e-6)) : 1.0f;
}

}  // namespace paci::exec
