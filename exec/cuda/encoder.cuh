// Token + position embedding on the GPU. CPU references: encoder_forward and
// encoder_backward_weight in exec/model/layers.h (same shapes; X is float or __nv_bfloat16 activations,
// the tables and their gradients are fp32 master copies).
#pragma once

#include <cuda_runtime.h>

namespace paci::exec {

// out[b,t,:] = wte[inp[b,t],:] + wpe[t,:]
template <typename X>
void encoder_forward_cuda(X* out, const int* inp, const float* wte, const float* wpe, int B, int T, int C,
                          cudaStream_t stream);

// dwte[inp[b,t],:] += dout[b,t,:] (atomic adds: two positions may hold the same token, so the sum
// order is not fixed) and dwpe[t,:] += sum_b dout[b,t,:] (fixed order).
template <typename X>
void encoder_backward_weight_cuda(float* dwte, float* dwpe, const X* dout, const int* inp, int B, int T,
                                  int C, cudaStream_t stream);

}  // namespace paci::exec
