// LayerNorm over the last dim (eps 1e-5) on the GPU. CPU references: layernorm_forward,
// layernorm_backward_input and layernorm_backward_weight in exec/model/layers.h, same shapes and the same
// accumulate (+=) contract for dinp, dw and db. w, b and their gradients are fp32 master copies;
// statistics are computed in fp32 whatever X is.
#pragma once

#include <cuda_runtime.h>

namespace paci::exec {

template <typename X>
void layernorm_forward_cuda(X* out, float* mean, float* rstd, const X* inp, const float* w, const float* b,
                            int N, int C, cudaStream_t stream);
template <typename X>
void layernorm_backward_input_cuda(X* dinp, const X* dout, const X* inp, const float* w, const float* mean,
                                   const float* rstd, int N, int C, cudaStream_t stream);
template <typename X>
void layernorm_backward_weight_cuda(float* dw, float* db, const X* dout, const X* inp, const float* mean,
                                    const float* rstd, int N, int C, cudaStream_t stream);

}  // namespace paci::exec
