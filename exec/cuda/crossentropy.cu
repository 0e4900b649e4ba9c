// Cross-entropy kernels: one block per row; the forward reduces (max, sum), the backward
// recomputes the probabilities in fp32. See crossentropy.cuh; reference exec/model/layers.cc.
#include "exec/cuda/crossentropy.cuh"
#include "exec/cuda/cuda_common.h"
#include "exec/cuda/cuda_util.cuh"

namespace paci::exec {

// Reads the row only: the probabilities are not stored (see crossentropy.cuh); the row's max and
// 1/sum, fp32, are what the backward needs to recompute them.
template <typename X>
__global__ void crossentropy_forward_kernel(float* losses, float* stats, const X* logits, const int* targets,
                                            int V) {
  __shared__ float shared[32];
  const X* l = logits + static_cast<long>(blockIdx.x) * V;
  float mx = -INFINITY;
  for (int v = threadIdx.x; v < V; v += blockDim.x) mx = fmaxf(mx, to_f32(l[v]));
  mx = block_max(mx, shared);
  float sum = 0.0f;
  for (int v = threadIdx.x; v < V; v += blockDim.x) sum += expf(to_f32(l[v]) - mx);
  sum = block_sum(sum, shared);
  if (threadIdx.x == 0) {
    losses[blockIdx.x] = logf(sum) + mx - to_f32(l[targets[blockIdx.x]]);
    stats[2 * blockIdx.x] = mx;
    stats[2 * blockIdx.x + 1] = 1.0f / sum;
  }
}

// p = exp(l - max) * (1/sum) in fp32, then the CPU reference's d = p * dloss, d[target] -= dloss,
// rounded to X once. Each thread reads its logit before writing the same element, so dlogits may
// alias logits.
template <typename X>
__global__ void crossentropy_backward_kernel(X* dlogits, const X* logits, const float* stats, const int* targets,
                                             float dloss, int V) {
  const long off = static_cast<long>(blockIdx.x) * V;
  const int target = targets[blockIdx.x];
  const float mx = stats[2 * blockIdx.x], inv = stats[2 * blockIdx.x + 1];
  for (int v = threadIdx.x; v < V; v += blockDim.x) {
    const float p = expf(to_f32(logits[off + v]) - mx) * inv;
    float d = p * dloss;
    if (v == target) d -= dloss;
    dlogits[off + v] = from_f32<X>(d);
  }
}

__global__ void mean_loss_kernel(float* out, const float* losses, int N) {
  __shared__ float shared[32];
  float s = 0.0f;
  for (int i = threadIdx.x; i < N; i += blockDim.x) s += losses[i];
  s = block_sum(s, shared);
  if (threadIdx.x == 0) *out = s / N;
}

template <typename X>
void crossentropy_forward_cuda(float* losses, float* stats, const X* logits, const int* targets, int N, int V,
                               cudaStream_t stream) {
  crossentropy_forward_kernel<<<N, 512, 0, stream>>>(losses, stats, logits, targets, V);
  CUDA_CHECK(cudaGetLastError());
}

template <typename X>
void crossentropy_backward_cuda(X* dlogits, const X* logits, const float* stats, const int* targets, float dloss,
                                int N, int V, cudaStream_t stream) {
  crossentropy_backward_kernel<<<N, 512, 0, stream>>>(dlogits, logits, stats, targets, dloss, V);
  CUDA_CHECK(cudaGetLastError());
}

void mean_loss_cuda(float* out, const float* losses, int N, cudaStream_t stream) {
  mean_loss_kernel<<<1, 1024, 0, stream>>>(out, losses, N);
  CUDA_CHECK(cudaGetLastError());
}

#define PACI_INSTANTIATE(X)                                                                                 \
  template void crossentropy_forward_cuda<X>(float*, float*, const X*, const int*, int, int, cudaStream_t); \
  template void crossentropy_backward_cuda<X>(X*, const X*, const float*, const int*, float, int, int,      \
                                              cudaStream_t);
PACI_INSTANTIATE(float)
PACI_INSTANTIATE(__nv_bfloat16)
#undef PACI_INSTANTIATE

}  // namespace paci::exec
