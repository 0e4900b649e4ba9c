// AdamW with decoupled weight decay, the learning-rate schedule (linear warm-up, cosine decay to a
// floor) and global-norm gradient clipping. One AdamW per stage: it covers the stage's parameter
// span [param_offset, param_offset + n) of the model layout and keeps m, v for exactly that span.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "exec/model/gpt.h"

namespace paci::exec {

struct AdamWConfig {
  float beta1 = 0.9f;
  float beta2 = 0.95f;
  float eps = 1e-8f;
  float weight_decay = 0.1f;  // applied to tensors with ParamSpec::decay (>= 2 dims, as nanoGPT)
};

struct AdamW {
  AdamWConfig cfg;
  size_t param_offset = 0;    // first float of the span in the whole-model layout
  std::vector<float> m, v;    // first and second moments, one per float of the span
  std::vector<uint8_t> decay; // 1 where weight decay applies
  int64_t step = 0;           // updates done so far (bias correction uses step after increment)
};

// Optimizer for floats [param_offset, param_offset + n) of `layout` (a stage's span).
AdamW adamw_create(const AdamWConfig& cfg, const ParamLayout& layout, size_t param_offset, size_t n);

// One update: params -= lr * (mhat / (sqrt(vhat) + eps) + wd * params) (wd only where decay), the
// moments fed grads * grad_scale (the clipping scale, applied here rather than in its own pass).
void adamw_update(AdamW* opt, float* params, const float* grads, float lr, float grad_scale = 1.0f);

// nanoGPT schedule for update `step` (0-based): lr*(step+1)/(warmup+1) during warm-up, then cosine
// from lr down to min_frac*lr at total_steps, then flat.
float lr_schedule(int64_t step, float lr, int64_t warmup, int64_t total_steps, float min_frac);

// Sum of squares (in double, in an order fixed by n, whatever the thread count) of a gradient span;
// a pipeline adds the stages' sums.
double grad_sq_norm(const float* grads, size_t n);
// Sets n floats to zero, split over the OpenMP threads (gradients before each update).
void zero_floats(float* x, size_t n);
// The scale that brings the global norm to at most max_norm (1 when max_norm <= 0); pass it to
// adamw_update.
float grad_clip_scale(double global_sq_norm, float max_norm);

}  // namespace paci::exec
