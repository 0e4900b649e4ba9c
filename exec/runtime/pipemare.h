// PipeMare's weight arithmetic (method.md 4.7), the CPU reference of exec/cuda/pipemare.cu:
// the EMA of a stage's weight updates, and the backward's estimate of the weights its forward
// used, w - d * delta for a drift of d updates.
#pragma once

#include <cstddef>

namespace paci::exec {

// delta = gamma * delta + (1 - gamma) * (w - before)
inline void pipemare_update_delta(float* delta, const float* w, const float* before, float gamma, size_t n) {
  for (size_t i = 0; i < n; ++i) delta[i] = gamma * delta[i] + (1 - gamma) * (w[i] - before[i]);
}

// out = w - drift * delta
inline void pipemare_corrected_weights(float* out, const float* w, const float* delta, float drift, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = w[i] - drift * delta[i];
}

}  // namespace paci::exec
