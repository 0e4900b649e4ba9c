// Attention kernels. Heads are first permuted to (B,NH,T,hs) so every (batch, head) is one equally
// strided GEMM operand; the full T x T score matrix is formed (the causal half is zeroed by the
// softmax), as the CPU reference does. See attention.cuh; reference exec/attention.cc.
#include <cmath>
#include <type_traits>

#include "exec/cuda/attention.cuh"
#include "exec/cuda/cuda_util.cuh"
#include "exec/cuda/gemm_shapes.h"

namespace paci::exec {

namespace {

template <typename X>
constexpr cudaDataType_t cuda_type() {
  return std::is_same_v<X, float> ? CUDA_R_32F : CUDA_R_16BF;
}

// Issues the batched `g` (gemm_shapes.h), all operands X, fp32 accumulation.
template <typename X>
void gemm_batched(const CudaContext& ctx, const GemmCall& g, const X* A, const X* B, X* C) {
  constexpr cudaDataType_t t = cuda_type<X>();
  CUBLAS_CHECK(cublasGemmStridedBatchedEx(ctx.cublas, g.ta ? CUBLAS_OP_T : CUBLAS_OP_N, g.tb ? CUBLAS_OP_T : CUBLAS_OP_N,
                                          g.m, g.n, g.k, &g.alpha, A, t, g.lda, g.sa, B, t, g.ldb, g.sb, &g.beta, C,
                                          t, g.ldc, g.sc, g.batch, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

}  // namespace

// qkv (B,T,3,NH,hs) -> q, k, v each (B,NH,T,hs).
template <typename X>
__global__ void permute_qkv_kernel(X* q, X* k, X* v, const X* qkv, int B, int T, int NH, int hs) {
  const long i = blockIdx.x * static_cast<long>(blockDim.x) + threadIdx.x;
  if (i >= static_cast<long>(B) * NH * T * hs) return;
  const int d = i % hs, t = (i / hs) % T, h = (i / (static_cast<long>(hs) * T)) % NH;
  const long b = i / (static_cast<long>(hs) * T * NH);
  const int C = NH * hs;
  const long src = (b * T + t) * 3 * C + h * hs + d;
  q[i] = qkv[src];
  k[i] = qkv[src + C];
  v[i] = qkv[src + 2 * C];
}

// (B,NH,T,hs) -> (B,T,NH,hs) = (B,T,C) row, written at `stride` per row (C, or 3C into dqkv).
template <typename X>
__global__ void unpermute_kernel(X* out, const X* in, int B, int T, int NH, int hs, int stride) {
  const long i = blockIdx.x * static_cast<long>(blockDim.x) + threadIdx.x;
  if (i >= static_cast<long>(B) * NH * T * hs) return;
  const int d = i % hs, t = (i / hs) % T, h = (i / (static_cast<long>(hs) * T)) % NH;
  const long b = i / (static_cast<long>(hs) * T * NH);
  out[(b * T + t) * stride + h * hs + d] = in[i];
}

// (B,T,NH,hs) -> (B,NH,T,hs): the inverse, for the output gradient.
template <typename X>
__global__ void permute_kernel(X* out, const X* in, int B, int T, int NH, int hs) {
  const long i = blockIdx.x * static_cast<long>(blockDim.x) + threadIdx.x;
  if (i >= static_cast<long>(B) * NH * T * hs) return;
  const int d = i % hs, t = (i / hs) % T, h = (i / (static_cast<long>(hs) * T)) % NH;
  const long b = i / (static_cast<long>(hs) * T * NH);
  out[i] = in[(b * T + t) * NH * hs + h * hs + d];
}

// One warp per row t of one (b,h): softmax over columns 0..t in fp32, zeros above the diagonal.
template <typename X>
__global__ void causal_softmax_kernel(X* att, int rows, int T) {
  const long row = blockIdx.x * (blockDim.x / 32L) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= rows) return;
  const int t = static_cast<int>(row % T);
  X* r = att + row * T;
  float mx = -INFINITY;
  for (int j = lane; j <= t; j += 32) mx = fmaxf(mx, to_f32(r[j]));
  mx = warp_max(mx);
  float sum = 0.0f;
  for (int j = lane; j <= t; j += 32) sum += expf(to_f32(r[j]) - mx);
  const float inv = 1.0f / warp_sum(sum);
  for (int j = lane; j < T; j += 32) r[j] = from_f32<X>(j <= t ? expf(to_f32(r[j]) - mx) * inv : 0.0f);
}

// In place: datt -> d(scores) = att * (datt - <att, datt>) * scale on the causal half, 0 above.
template <typename X>
__global__ void causal_softmax_backward_kernel(X* datt, const X* att, int rows, int T, float scale) {
  const long row = blockIdx.x * (blockDim.x / 32L) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= rows) return;
  const int t = static_cast<int>(row % T);
  X* d = datt + row * T;
  const X* a = att + row * T;
  float dot = 0.0f;
  for (int j = lane; j <= t; j += 32) dot += to_f32(a[j]) * to_f32(d[j]);
  dot = warp_sum(dot);
  for (int j = lane; j < T; j += 32)
    d[j] = from_f32<X>(j <= t ? to_f32(a[j]) * (to_f32(d[j]) - dot) * scale : 0.0f);
}

size_t attention_scratch_elems(int B, int T, int C, int NH) {
  const size_t nc = static_cast<size_t>(B) * T * C;
  return 7 * nc + static_cast<size_t>(B) * NH * T * T;
}

template <typename X>
void attention_forward_cuda(const CudaContext& ctx, X* out, X* att, const X* qkv, X* scratch, int B, int T,
                            int C, int NH) {
  const int hs = C / NH;
  const long nc = static_cast<long>(B) * T * C;
  X *q = scratch, *k = q + nc, *v = k + nc, *y = v + nc;
  const unsigned grid = ceil_div(nc, 256);
  permute_qkv_kernel<<<grid, 256, 0, ctx.stream>>>(q, k, v, qkv, B, T, NH, hs);
  CUDA_CHECK(cudaGetLastError());
  const float scale = 1.0f / std::sqrt(static_cast<float>(hs));
  gemm_batched<X>(ctx, attention_scores_gemm(B, NH, T, hs, scale), k, q, att);
  const int rows = B * NH * T;
  causal_softmax_kernel<<<ceil_div(rows, 8), 256, 0, ctx.stream>>>(att, rows, T);
  CUDA_CHECK(cudaGetLastError());
  gemm_batched<X>(ctx, attention_values_gemm(B, NH, T, hs), v, att, y);
  unpermute_kernel<<<grid, 256, 0, ctx.stream>>>(out, y, B, T, NH, hs, C);
  CUDA_CHECK(cudaGetLastError());
}

template <typename X>
void attention_backward_cuda(const CudaContext& ctx, X* dqkv, const X* dout, const X* qkv, const X* att,
                             X* scratch, int B, int T, int C, int NH) {
  const int hs = C / NH;
  const long nc = static_cast<long>(B) * T * C;
  X *q = scratch, *k = q + nc, *v = k + nc, *dy = v + nc, *dq = dy + nc, *dk = dq + nc, *dv = dk + nc;
  X* datt = dv + nc;
  const unsigned grid = ceil_div(nc, 256);
  permute_qkv_kernel<<<grid, 256, 0, ctx.stream>>>(q, k, v, qkv, B, T, NH, hs);
  CUDA_CHECK(cudaGetLastError());
  permute_kernel<<<grid, 256, 0, ctx.stream>>>(dy, dout, B, T, NH, hs);
  CUDA_CHECK(cudaGetLastError());
  const float scale = 1.0f / std::sqrt(static_cast<float>(hs));
  gemm_batched<X>(ctx, attention_datt_gemm(B, NH, T, hs), v, dy, datt);
  gemm_batched<X>(ctx, attention_dv_gemm(B, NH, T, hs), dy, att, dv);
  const int rows = B * NH * T;
  causal_softmax_backward_kernel<<<ceil_div(rows, 8), 256, 0, ctx.stream>>>(datt, att, rows, T, scale);
  CUDA_CHECK(cudaGetLastError());
  // d(scores) in datt already holds the scale.
  gemm_batched<X>(ctx, attention_dq_gemm(B, NH, T, hs), k, datt, dq);
  gemm_batched<X>(ctx, attention_dk_gemm(B, NH, T, hs), q, datt, dk);
  unpermute_kernel<<<grid, 256, 0, ctx.stream>>>(dqkv, dq, B, T, NH, hs, 3 * C);
  unpermute_kernel<<<grid, 256, 0, ctx.stream>>>(dqkv + C, dk, B, T, NH, hs, 3 * C);
  unpermute_kernel<<<grid, 256, 0, ctx.stream>>>(dqkv + 2 * C, dv, B, T, NH, hs, 3 * C);
  CUDA_CHECK(cudaGetLastError());
}

#define PACI_INSTANTIATE(X)                                                                                  \
  template void attention_forward_cuda<X>(const CudaContext&, X*, X*, const X*, X*, int, int, int, int);      \
  template void attention_backward_cuda<X>(const CudaContext&, X*, const X*, const X*, const X*, X*, int, int, \
                                           int, int);
PACI_INSTANTIATE(float)
PACI_INSTANTIATE(__nv_bfloat16)
#undef PACI_INSTANTIATE

}  // namespace paci::exec
