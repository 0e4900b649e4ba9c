// cuBLAS GEMMs for the linear layer plus the bias kernels. cuBLAS is column-major: a row-major
// (R,K) tensor is read as a column-major (K,R) one, so each row-major product is issued transposed
// (the mapping llm.c's matmul.cuh uses). See matmul.cuh; reference exec/layers.cc.
#include <type_traits>

#include "exec/cuda/cuda_util.cuh"
#include "exec/cuda/gemm_shapes.h"
#include "exec/cuda/matmul.cuh"

namespace paci::exec {

namespace {

template <typename X>
constexpr cudaDataType_t cuda_type() {
  return std::is_same_v<X, float> ? CUDA_R_32F : CUDA_R_16BF;
}

// Issues `g` (gemm_shapes.h) with fp32 accumulation whatever the storage types.
void gemm(const CudaContext& ctx, const GemmCall& g, const void* A, cudaDataType_t at, const void* B,
          cudaDataType_t bt, void* C, cudaDataType_t ct) {
  CUBLAS_CHECK(cublasGemmEx(ctx.cublas, g.ta ? CUBLAS_OP_T : CUBLAS_OP_N, g.tb ? CUBLAS_OP_T : CUBLAS_OP_N, g.m, g.n,
                            g.k, &g.alpha, A, at, g.lda, B, bt, g.ldb, &g.beta, C, ct, g.ldc, CUBLAS_COMPUTE_32F,
                            CUBLAS_GEMM_DEFAULT));
}

}  // namespace

template <typename X>
__global__ void add_bias_kernel(X* out, const float* bias, int N, int OC) {
  const long i = blockIdx.x * static_cast<long>(blockDim.x) + threadIdx.x;
  if (i >= static_cast<long>(N) * OC) return;
  out[i] = from_f32<X>(to_f32(out[i]) + bias[i % OC]);
}

// Column sums of dout (N,OC): block (32,32), columns on x, rows strided on y, fixed-order combine.
template <typename X>
__global__ void bias_backward_kernel(float* dbias, const X* dout, int N, int OC) {
  __shared__ float s[32][33];
  const int o = blockIdx.x * 32 + threadIdx.x;
  float a = 0.0f;
  if (o < OC)
    for (int n = threadIdx.y; n < N; n += 32) a += to_f32(dout[static_cast<long>(n) * OC + o]);
  s[threadIdx.y][threadIdx.x] = a;
  __syncthreads();
  if (threadIdx.y == 0 && o < OC) {
    float t = 0.0f;
    for (int k = 0; k < 32; k++) t += s[k][threadIdx.x];
    dbias[o] += t;
  }
}

template <typename X>
void matmul_forward_cuda(const CudaContext& ctx, X* out, const X* inp, const X* w, const float* bias, int N,
                         int C, int OC) {
  constexpr cudaDataType_t xt = cuda_type<X>();
  gemm(ctx, matmul_forward_gemm(N, C, OC), w, xt, inp, xt, out, xt);
  if (bias != nullptr) {
    const long n = static_cast<long>(N) * OC;
    add_bias_kernel<<<ceil_div(n, 256), 256, 0, ctx.stream>>>(out, bias, N, OC);
    CUDA_CHECK(cudaGetLastError());
  }
}

template <typename X>
void matmul_backward_input_cuda(const CudaContext& ctx, X* dinp, const X* dout, const X* w, int N, int C,
                                int OC, bool accumulate) {
  constexpr cudaDataType_t xt = cuda_type<X>();
  gemm(ctx, matmul_backward_input_gemm(N, C, OC, accumulate), w, xt, dout, xt, dinp, xt);
}

template <typename X>
void matmul_backward_weight_cuda(const CudaContext& ctx, float* dw, float* dbias, const X* dout, const X* inp,
                                 int N, int C, int OC) {
  constexpr cudaDataType_t xt = cuda_type<X>();
  gemm(ctx, matmul_backward_weight_gemm(N, C, OC), inp, xt, dout, xt, dw, CUDA_R_32F);
  if (dbias != nullptr) {
    bias_backward_kernel<<<ceil_div(OC, 32), dim3(32, 32), 0, ctx.stream>>>(dbias, dout, N, OC);
    CUDA_CHECK(cudaGetLastError());
  }
}

#define PACI_INSTANTIATE(X)                                                                             \
  template void matmul_forward_cuda<X>(const CudaContext&, X*, const X*, const X*, const float*, int, int, \
                                       int);                                                            \
  template void matmul_backward_input_cuda<X>(const CudaContext&, X*, const X*, const X*, int, int, int,  \
                                              bool);                                                    \
  template void matmul_backward_weight_cuda<X>(const CudaContext&, float*, float*, const X*, const X*, int, \
                                               int, int);
PACI_INSTANTIATE(float)
PACI_INSTANTIATE(__nv_bfloat16)
#undef PACI_INSTANTIATE

}  // namespace paci::exec
