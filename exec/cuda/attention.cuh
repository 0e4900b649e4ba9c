// Causal multi-head self-attention on the GPU: cuBLAS strided-batched GEMMs over (batch, head)
// plus causal-softmax kernels. CPU references: attention_forward and attention_backward in
// exec/model/layers.h (exec/attention.cc), same layouts: qkv (B,T,3C) as [q | k | v], out (B,T,C), att
// (B,NH,T,T) softmax probabilities with an exactly-zero upper triangle. dqkv is overwritten.
#pragma once

#include <cstddef>

#include "exec/cuda/cuda_common.h"

namespace paci::exec {

// Elements of X scratch the two calls below need: q, k, v, dy/y in head-major order and, for the
// backward, dq, dk, dv and d(att). The caller owns it (one per stream).
size_t attention_scratch_elems(int B, int T, int C, int NH);

template <typename X>
void attention_forward_cuda(const CudaContext& ctx, X* out, X* att, const X* qkv, X* scratch, int B, int T,
                            int C, int NH);
template <typename X>
void attention_backward_cuda(const CudaContext& ctx, X* dqkv, const X* dout, const X* qkv, const X* att,
                             X* scratch, int B, int T, int C, int NH);

}  // namespace paci::exec
