// Softmax cross-entropy on the GPU. CPU references: crossentropy_forward and crossentropy_backward in
// exec/model/layers.h, same shapes. Here probs may alias logits and dlogits may alias probs (the stage
// model keeps one (N,V) buffer for all three); losses and their mean are fp32.
#pragma once

#include <cuda_runtime.h>

namespace paci::exec {

// losses (N) = logsumexp(logits) - logits[target]; probs (N,V) = softmax(logits).
template <typename X>
void crossentropy_forward_cuda(float* losses, X* probs, const X* logits, const int* targets, int N, int V,
                               cudaStream_t stream);
// dlogits = (probs - onehot(target)) * dloss (overwrite).
template <typename X>
void crossentropy_backward_cuda(X* dlogits, const X* probs, const int* targets, float dloss, int N, int V,
                                cudaStream_t stream);
// *out = mean of losses (N), one block in a fixed order (reproducible).
void mean_loss_cuda(float* out, const float* losses, int N, cudaStream_t stream);

}  // namespace paci::exec
