// LayerNorm kernels: one warp per row for the forward and the input-gradient, a column reduction
// (fixed order, no atomics) for the weight-gradient. See layernorm.cuh; reference exec/layers.cc.
#include "exec/cuda/cuda_common.h"
#include "exec/cuda/cuda_util.cuh"
#include "exec/cuda/layernorm.cuh"

namespace paci::exec {

template <typename X>
__global__ void layernorm_forward_kernel(X* out, float* mean, float* rstd, const X* inp, const float* w,
                                         const float* b, int N, int C) {
  const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
  if (row >= N) return;
  const X* x = inp + static_cast<long>(row) * C;
  float s = 0.0f;
  for (int c = lane; c < C; c += 32) s += to_f32(x[c]);
  const float m = warp_sum(s) / C;
  float v = 0.0f;
  for (int c = lane; c < C; c += 32) {
    const float d = to_f32(x[c]) - m;
    v += d * d;
  }
  const float r = rsqrtf(warp_sum(v) / C + 1e-5f);
  X* o = out + static_cast<long>(row) * C;
  for (int c = lane; c < C; c += 32) o[c] = from_f32<X>((to_f32(x[c]) - m) * r * w[c] + b[c]);
  if (lane == 0) {
    mean[row] = m;
    rstd[row] = r;
  }
}

template <typename X>
__global__ void layernorm_backward_input_kernel(X* dinp, const X* dout, const X* inp, const float* w,
                                                const float* mean, const float* rstd, int N, int C) {
  const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
  if (row >= N) return;
  const long off = static_cast<long>(row) * C;
  const float m = mean[row], s = rstd[row];
  float dnorm_mean = 0.0f, dnorm_norm_mean = 0.0f;
  for (int c = lane; c < C; c += 32) {
    const float dnorm = w[c] * to_f32(dout[off + c]);
    dnorm_mean += dnorm;
    dnorm_norm_mean += dnorm * (to_f32(inp[off + c]) - m) * s;
  }
  dnorm_mean = warp_sum(dnorm_mean) / C;
  dnorm_norm_mean = warp_sum(dnorm_norm_mean) / C;
  for (int c = lane; c < C; c += 32) {
    const float xhat = (to_f32(inp[off + c]) - m) * s;
    const float d = (w[c] * to_f32(dout[off + c]) - dnorm_mean - xhat * dnorm_norm_mean) * s;
    dinp[off + c] = from_f32<X>(to_f32(dinp[off + c]) + d);
  }
}

// Block (32, 32): threadIdx.x picks the column, threadIdx.y strides over rows; the 32 partial sums
// of a column are added in a fixed order, so the result is reproducible.
template <typename X>
__global__ void layernorm_backward_weight_kernel(float* dw, float* db, const X* dout, const X* inp,
                                                 const float* mean, const float* rstd, int N, int C) {
  __shared__ float sw[32][33], sb[32][33];
  const int c = blockIdx.x * 32 + threadIdx.x;
  float aw = 0.0f, ab = 0.0f;
  if (c < C) {
    for (int n = threadIdx.y; n < N; n += 32) {
      const long i = static_cast<long>(n) * C + c;
      const float d = to_f32(dout[i]);
      aw += d * (to_f32(inp[i]) - mean[n]) * rstd[n];
      ab += d;
    }
  }
  sw[threadIdx.y][threadIdx.x] = aw;
  sb[threadIdx.y][threadIdx.x] = ab;
  __syncthreads();
  if (threadIdx.y == 0 && c < C) {
    float tw = 0.0f, tb = 0.0f;
    for (int k = 0; k < 32; k++) {
      tw += sw[k][threadIdx.x];
      tb += sb[k][threadIdx.x];
    }
    dw[c] += tw;
    db[c] += tb;
  }
}

template <typename X>
void layernorm_forward_cuda(X* out, float* mean, float* rstd, const X* inp, const float* w, const float* b,
                            int N, int C, cudaStream_t stream) {
  layernorm_forward_kernel<<<ceil_div(N, 8), 256, 0, stream>>>(out, mean, rstd, inp, w, b, N, C);
  CUDA_CHECK(cudaGetLastError());
}

template <typename X>
void layernorm_backward_input_cuda(X* dinp, const X* dout, const X* inp, const float* w, const float* mean,
                                   const float* rstd, int N, int C, cudaStream_t stream) {
  layernorm_backward_input_kernel<<<ceil_div(N, 8), 256, 0, stream>>>(dinp, dout, inp, w, mean, rstd, N, C);
  CUDA_CHECK(cudaGetLastError());
}

template <typename X>
void layernorm_backward_weight_cuda(float* dw, float* db, const X* dout, const X* inp, const float* mean,
                                    const float* rstd, int N, int C, cudaStream_t stream) {
  layernorm_backward_weight_kernel<<<ceil_div(C, 32), dim3(32, 32), 0, stream>>>(dw, db, dout, inp, mean,
                                                                                 rstd, N, C);
  CUDA_CHECK(cudaGetLastError());
}

#define PACI_INSTANTIATE(X)                                                                                  \
  template void layernorm_forward_cuda<X>(X*, float*, float*, const X*, const float*, const float*, int, int, \
                                          cudaStream_t);                                                     \
  template void layernorm_backward_input_cuda<X>(X*, const X*, const X*, const float*, const float*,         \
                                                 const float*, int, int, cudaStream_t);                      \
  template void layernorm_backward_weight_cuda<X>(float*, float*, const X*, const X*, const float*,          \
                                                  const float*, int, int, cudaStream_t);
PACI_INSTANTIATE(float)
PACI_INSTANTIATE(__nv_bfloat16)
#undef PACI_INSTANTIATE

}  // namespace paci::exec
