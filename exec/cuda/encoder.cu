// Embedding kernels. See encoder.cuh; reference: exec/layers.cc encoder_forward/_backward_weight.
#include "exec/cuda/cuda_common.h"
#include "exec/cuda/cuda_util.cuh"
#include "exec/cuda/encoder.cuh"

namespace paci::exec {

template <typename X>
__global__ void encoder_forward_kernel(X* out, const int* inp, const float* wte, const float* wpe, int B,
                                       int T, int C) {
  const long i = blockIdx.x * static_cast<long>(blockDim.x) + threadIdx.x;
  if (i >= static_cast<long>(B) * T * C) return;
  const long bt = i / C;
  const int c = static_cast<int>(i % C), t = static_cast<int>(bt % T);
  out[i] = from_f32<X>(wte[static_cast<long>(inp[bt]) * C + c] + wpe[static_cast<long>(t) * C + c]);
}

template <typename X>
__global__ void encoder_backward_wte_kernel(float* dwte, const X* dout, const int* inp, int B, int T, int C) {
  const long i = blockIdx.x * static_cast<long>(blockDim.x) + threadIdx.x;
  if (i >= static_cast<long>(B) * T * C) return;
  const long bt = i / C;
  const int c = static_cast<int>(i % C);
  atomicAdd(&dwte[static_cast<long>(inp[bt]) * C + c], to_f32(dout[i]));
}

// One thread per (t, c), summing over b in order: deterministic.
template <typename X>
__global__ void encoder_backward_wpe_kernel(float* dwpe, const X* dout, int B, int T, int C) {
  const long i = blockIdx.x * static_cast<long>(blockDim.x) + threadIdx.x;
  if (i >= static_cast<long>(T) * C) return;
  float s = 0.0f;
  for (int b = 0; b < B; b++) s += to_f32(dout[static_cast<long>(b) * T * C + i]);
  dwpe[i] += s;
}

template <typename X>
void encoder_forward_cuda(X* out, const int* inp, const float* wte, const float* wpe, int B, int T, int C,
                          cudaStream_t stream) {
  const long n = static_cast<long>(B) * T * C;
  encoder_forward_kernel<<<ceil_div(n, 256), 256, 0, stream>>>(out, inp, wte, wpe, B, T, C);
  CUDA_CHECK(cudaGetLastError());
}

template <typename X>
void encoder_backward_weight_cuda(float* dwte, float* dwpe, const X* dout, const int* inp, int B, int T,
                                  int C, cudaStream_t stream) {
  const long n = static_cast<long>(B) * T * C;
  encoder_backward_wte_kernel<<<ceil_div(n, 256), 256, 0, stream>>>(dwte, dout, inp, B, T, C);
  CUDA_CHECK(cudaGetLastError());
  encoder_backward_wpe_kernel<<<ceil_div(static_cast<long>(T) * C, 256), 256, 0, stream>>>(dwpe, dout, B, T, C);
  CUDA_CHECK(cudaGetLastError());
}

#define PACI_INSTANTIATE(X)                                                                            \
  template void encoder_forward_cuda<X>(X*, const int*, const float*, const float*, int, int, int,     \
                                        cudaStream_t);                                                 \
  template void encoder_backward_weight_cuda<X>(float*, float*, const X*, const int*, int, int, int, \
                                                cudaStream_t);
PACI_INSTANTIATE(float)
PACI_INSTANTIATE(__nv_bfloat16)
#undef PACI_INSTANTIATE

}  // namespace paci::exec
