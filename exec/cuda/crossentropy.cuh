// Softmax cross-entropy on the GPU. CPU references: crossentropy_forward and crossentropy_backward in
// exec/model/layers.h, same shapes. The probabilities are never stored: in bf16 (8 significant
// bits) a stored probability above 1 - 2^-9 (0.998) rounds to 1 and one above 0.996 to one of two
// values, so the target's p - 1, the largest term of dlogits, came out 0 or up to 100 % off for
// confident predictions.
// Instead the forward keeps each row's max and 1/sum in fp32 (8 bytes a row) and the backward
// recomputes p from the logits in fp32, rounding only the finished dlogits to X. dlogits may alias
// logits (the stage model keeps one (N,V) buffer for both); losses and their mean are fp32.
#pragma once

#include <cuda_runtime.h>

namespace paci::exec {

// losses (N) = logsumexp(logits) - logits[target]; stats (2N, fp32) = per row max, 1 / sum(exp(l - max)).
// logits are left unchanged.
template <typename X>
void crossentropy_forward_cuda(float* losses, float* stats, const X* logits, const int* targets, int N, int V,
                               cudaStream_t stream);
// dlogits = (softmax(logits) - onehot(target)) * dloss, softmax from the forward's stats (overwrite;
// may alias logits).
template <typename X>
void crossentropy_backward_cuda(X* dlogits, const X* logits, const float* stats, const int* targets, float dloss,
                                int N, int V, cudaStream_t stream);
// *out = mean of losses (N), one block in a fixed order (reproducible).
void mean_loss_cuda(float* out, const float* losses, int N, cudaStream_t stream);

}  // namespace paci::exec
