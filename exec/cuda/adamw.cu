// AdamW kernel, one thread per parameter. See adamw.cuh; reference exec/adamw.cc.
#include <cmath>

#include "exec/cuda/adamw.cuh"
#include "exec/cuda/cuda_common.h"
#include "exec/cuda/cuda_util.cuh"

namespace paci::exec {

__global__ void adamw_kernel(float* params, const float* grads, float* m, float* v, const uint8_t* decay,
                             size_t n, float lr, float beta1, float beta2, float eps, float wd, float bc1,
                             float bc2, __nv_bfloat16* params_bf16) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const float g = grads[i];
  const float mi = beta1 * m[i] + (1.0f - beta1) * g;
  const float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
  m[i] = mi;
  v[i] = vi;
  const float mhat = mi / bc1, vhat = vi / bc2;
  float p = params[i];
  if (decay[i]) p -= lr * wd * p;
  p -= lr * mhat / (sqrtf(vhat) + eps);
  params[i] = p;
  if (params_bf16 != nullptr) params_bf16[i] = __float2bfloat16_rn(p);
}

void adamw_update_cuda(const AdamWStateCuda& s, const AdamWConfig& c, int64_t step, float* params,
                       const float* grads, float lr, __nv_bfloat16* params_bf16, cudaStream_t stream) {
  if (s.n == 0) return;
  const float bc1 = 1.0f - std::pow(c.beta1, static_cast<float>(step));
  const float bc2 = 1.0f - std::pow(c.beta2, static_cast<float>(step));
  adamw_kernel<<<ceil_div(static_cast<long>(s.n), 256), 256, 0, stream>>>(
      params, grads, s.m, s.v, s.decay, s.n, lr, c.beta1, c.beta2, c.eps, c.weight_decay, bc1, bc2, params_bf16);
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace paci::exec
