// AdamW, schedule and clipping. See adamw.h.
#include "exec/model/adamw.h"

#include <algorithm>
#include <cmath>

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

void adamw_update(AdamW* opt, float* params, const float* grads, float lr) {
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
    const float gi = g[i];
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
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += static_cast<double>(grads[i]) * grads[i];
  return s;
}

float grad_clip_scale(double global_sq_norm, float max_norm) {
  if (max_norm <= 0.0f) return 1.0f;
  const double norm = std::sqrt(global_sq_norm);
  return norm > max_norm ? static_cast<float>(max_norm / (norm + 1e-6)) : 1.0f;
}

}  // namespace paci::exec
