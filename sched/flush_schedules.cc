// Synchronous (flush) schedules: one iteration of M micro-batches is the repeated body, followed
// by the stage's optimizer step. Orders follow docs/method.md §4.1-4.4.
#include "sched/flush_schedules.h"

#include <algorithm>
#include <deque>

#include "sched/stream_builder.h"

namespace paci {

void BuildGpipeIteration(StreamBuilder& b, uint32_t /*stage*/, const ir::PipelineSpec& spec) {
  const uint32_t M = spec.microbatches_per_iteration();
  for (uint32_t n = 1; n <= M; ++n) b.Forward(n);
  for (uint32_t n = 1; n <= M; ++n) b.Backward(n);
  b.OptimizerStep(M);
}

// Megatron's non-interleaved 1F1B: P-s-1 warm-up forwards, then one forward and one backward
// alternating, then the remaining backwards.
void Build1f1bIteration(StreamBuilder& b, uint32_t stage, const ir::PipelineSpec& spec) {
  const uint32_t M = spec.microbatches_per_iteration();
  const uint32_t w = std::min(spec.stages() - stage - 1, M);
  for (uint32_t n = 1; n <= w; ++n) b.Forward(n);
  for (uint32_t k = 1; k <= M - w; ++k) {
    b.Forward(w + k);
    b.Backward(k);
  }
  for (uint32_t k = M - w + 1; k <= M; ++k) b.Backward(k);
  b.OptimizerStep(M);
}

// Megatron's interleaved 1F1B (virtual stage v = chunk * P + stage), from docs/method.md §4.3.
void BuildInterleavedIteration(StreamBuilder& b, uint32_t stage, const ir::PipelineSpec& spec) {
  const uint32_t P = spec.stages(), V = spec.chunks(), M = spec.microbatches_per_iteration();
  const uint32_t total = M * V;
  auto chunk_f = [&](uint32_t k) { return (k % (P * V)) / P; };
  auto chunk_b = [&](uint32_t k) { return V - 1 - chunk_f(k); };
  auto mb = [&](uint32_t k) { return uint64_t{(k / (P * V)) * P + (k % P) + 1}; };
  const uint32_t w = std::min(2 * (P - stage - 1) + (V - 1) * P, total);
  for (uint32_t k = 0; k < w; ++k) b.Forward(mb(k), chunk_f(k));
  for (uint32_t k = 0; k + w < total; ++k) {
    b.Forward(mb(k + w), chunk_f(k + w));
    b.Backward(mb(k), chunk_b(k));
  }
  for (uint32_t k = total - w; k < total; ++k) b.Backward(mb(k), chunk_b(k));
  b.OptimizerStep(M);
}

// ZB-H1 (docs/method.md §4.4): backward split into input-grad (I) and weight-grad (W); stage s defers
// its first s weight-grads into the cool-down, which fills the 1F1B bubble.
void BuildZbH1Iteration(StreamBuilder& b, uint32_t stage, const ir::PipelineSpec& spec) {
  const uint32_t M = spec.microbatches_per_iteration();
  const uint32_t w = std::min(spec.stages() - stage - 1, M);
  std::deque<uint64_t> pending_w;
  auto input_grad = [&](uint32_t i) {
    b.BackwardInput(i);
    pending_w.push_back(i);
    if (i > stage) {
      b.BackwardWeight(pending_w.front());
      pending_w.pop_front();
    }
  };
  for (uint32_t n = 1; n <= w; ++n) b.Forward(n);
  for (uint32_t i = 1; i <= M - w; ++i) {
    b.Forward(w + i);
    input_grad(i);
  }
  for (uint32_t i = M - w + 1; i <= M; ++i) input_grad(i);
  for (uint64_t n : pending_w) b.BackwardWeight(n);
  b.OptimizerStep(M);
}

}  // namespace paci
