// Element-wise kernels, one thread per element, fp32 arithmetic. See elementwise.cuh.
#include "exec/cuda/cuda_common.h"
#include "exec/cuda/cuda_util.cuh"
#include "exec/cuda/elementwise.cuh"

namespace paci::exec {

namespace {
constexpr float kGeluScale = 0.7978845608028654f;  // sqrt(2/pi), as exec/layers.cc
}

template <typename X>
__global__ void gelu_forward_kernel(X* out, const X* inp, long N) {
  const long i = blockIdx.x * static_cast<long>(blockDim.x) + threadIdx.x;
  if (i >= N) return;
  const float x = to_f32(inp[i]);
  out[i] = from_f32<X>(0.5f * x * (1.0f + tanhf(kGeluScale * (x + 0.044715f * x * x * x))));
}

template <typename X>
__global__ void gelu_backward_kernel(X* dinp, const X* inp, const X* dout, long N) {
  const long i = blockIdx.x * static_cast<long>(blockDim.x) + threadIdx.x;
  if (i >= N) return;
  const float x = to_f32(inp[i]);
  const float th = tanhf(kGeluScale * (x + 0.044715f * x * x * x));
  const float sech2 = 1.0f - th * th;
  const float local = 0.5f * (1.0f + th) + 0.5f * x * sech2 * kGeluScale * (1.0f + 3.0f * 0.044715f * x * x);
  dinp[i] = from_f32<X>(local * to_f32(dout[i]));
}

template <typename X>
__global__ void residual_forward_kernel(X* out, const X* a, const X* b, long N) {
  const long i = blockIdx.x * static_cast<long>(blockDim.x) + threadIdx.x;
  if (i < N) out[i] = from_f32<X>(to_f32(a[i]) + to_f32(b[i]));
}

template <typename Dst, typename Src>
__global__ void convert_kernel(Dst* out, const Src* in, size_t n) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = from_f32<Dst>(to_f32(in[i]));
}

template <typename X>
void gelu_forward_cuda(X* out, const X* inp, long N, cudaStream_t stream) {
  gelu_forward_kernel<<<ceil_div(N, 256), 256, 0, stream>>>(out, inp, N);
  CUDA_CHECK(cudaGetLastError());
}

template <typename X>
void gelu_backward_cuda(X* dinp, const X* inp, const X* dout, long N, cudaStream_t stream) {
  gelu_backward_kernel<<<ceil_div(N, 256), 256, 0, stream>>>(dinp, inp, dout, N);
  CUDA_CHECK(cudaGetLastError());
}

template <typename X>
void residual_forward_cuda(X* out, const X* a, const X* b, long N, cudaStream_t stream) {
  residual_forward_kernel<<<ceil_div(N, 256), 256, 0, stream>>>(out, a, b, N);
  CUDA_CHECK(cudaGetLastError());
}

template <typename Dst, typename Src>
void convert_cuda(Dst* out, const Src* in, size_t n, cudaStream_t stream) {
  if (n == 0) return;
  convert_kernel<<<ceil_div(static_cast<long>(n), 256), 256, 0, stream>>>(out, in, n);
  CUDA_CHECK(cudaGetLastError());
}

#define PACI_INSTANTIATE(X)                                                               \
  template void gelu_forward_cuda<X>(X*, const X*, long, cudaStream_t);                   \
  template void gelu_backward_cuda<X>(X*, const X*, const X*, long, cudaStream_t);        \
  template void residual_forward_cuda<X>(X*, const X*, const X*, long, cudaStream_t);
PACI_INSTANTIATE(float)
PACI_INSTANTIATE(__nv_bfloat16)
#undef PACI_INSTANTIATE
template void convert_cuda<__nv_bfloat16, float>(__nv_bfloat16*, const float*, size_t, cudaStream_t);
template void convert_cuda<float, __nv_bfloat16>(float*, const __nv_bfloat16*, size_t, cudaStream_t);
template void convert_cuda<float, float>(float*, const float*, size_t, cudaStream_t);

}  // namespace paci::exec
