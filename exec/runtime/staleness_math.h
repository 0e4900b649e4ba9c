// The arithmetic of the staleness compensations that estimate weights from AdamW's own state
// (docs/method.md §9): the step AdamW took last, lr * (m_hat / (sqrt(v_hat) + eps) + wd * w), run
// back over d updates (rewind) or forward over d (predict), and DC-ASGD's delay-compensated
// gradient with Adam's v as its curvature scale. Plain loops: the CPU reference of any GPU kernel.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "exec/model/adamw.h"

namespace paci::exec {

// AdamW's state for a span of parameters, read-only, with its bias corrections resolved.
struct AdamStep {
  const float* m = nullptr;
  const float* v = nullptr;
  const uint8_t* decay = nullptr;  // 1 where weight decay applies
  float lr = 0;                    // the learning rate of the last step
  float weight_decay = 0;
  float bc1 = 1, bc2 = 1;  // 1 - beta1^t, 1 - beta2^t after t steps
  float eps = 1e-8f;

  // The step of parameter i (w_before - w_after of the last update, as the moments now estimate it).
  float At(size_t i, float w) const {
    const float mhat = m[i] / bc1, vhat = v[i] / bc2;
    return lr * (mhat / (std::sqrt(vhat) + eps) + (decay[i] != 0 ? weight_decay : 0.0f) * w);
  }
};

// The step of `opt`'s span starting at its float `first`, after `lr`; valid while opt.step > 0.
inline AdamStep AdamStepOf(const AdamW& opt, size_t first, float lr) {
  AdamStep s;
  s.m = opt.m.data() + first;
  s.v = opt.v.data() + first;
  s.decay = opt.decay.data() + first;
  s.lr = lr;
  s.weight_decay = opt.cfg.weight_decay;
  s.bc1 = 1.0f - std::pow(opt.cfg.beta1, static_cast<float>(opt.step));
  s.bc2 = 1.0f - std::pow(opt.cfg.beta2, static_cast<float>(opt.step));
  s.eps = opt.cfg.eps;
  return s;
}

// out = w + k * step: k = A * d rewinds d updates (the weights a forward d updates ago used),
// k = -A * d predicts d updates ahead.
inline void adam_weight_estimate(float* out, const float* w, const AdamStep& s, float k, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = w[i] + k * s.At(i, w[i]);
}

// g += H (w_now - w_then) with H = lambda * g^2 / (sqrt(v_hat) + eps) (DC-ASGD-a's curvature
// estimate, Adam's v as its mean square) and w_now - w_then = -stale * step:
// g -= lambda * stale * g^2 / (sqrt(v_hat) + eps) * step.
inline void delay_compensate(float* g, const float* w, const AdamStep& s, float lambda, float stale,
                             size_t n) {
  const float scale = lambda * stale;
  for (size_t i = 0; i < n; ++i) {
    const float vhat = s.v[i] / s.bc2;
    g[i] -= scale * g[i] * g[i] / (std::sqrt(vhat) + s.eps) * s.At(i, w[i]);
  }
}

}  // namespace paci::exec
