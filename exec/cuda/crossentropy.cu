// Cross-entropy kernels: one block per row, three passes (max, sum, write) so that probs may be
// written over logits. See crossentropy.cuh; reference exec/layers.cc.
#include "exec/cuda/crossentropy.cuh"
#include "exec/cuda/cuda_common.h"
#include "exec/cuda/cuda_util.cuh"

namespace paci::exec {

template <typename X>
__global__ void crossentropy_forward_kernel(float* losses, X* probs, const X* logits, const int* targets,
                                            int V) {
  __shared__ float shared[32];
  const long off = static_cast<long>(blockIdx.x) * V;
  const X* l = logits + off;
  // Read the target's logit before any thread overwrites the row (probs may alias logits).
  const float lt = to_f32(l[targets[blockIdx.x]]);
  float mx = -INFINITY;
  for (int v = threadIdx.x; v < V; v += blockDim.x) mx = fmaxf(mx, to_f32(l[v]));
  mx = block_max(mx, shared);
  float sum = 0.0f;
  for (int v = threadIdx.x; v < V; v += blockDim.x) sum += expf(to_f32(l[v]) - mx);
  sum = block_sum(sum, shared);  // ends with a barrier after every thread read lt
  const float inv = 1.0f / sum;
  X* p = probs + off;
  for (int v = threadIdx.x; v < V; v += blockDim.x) p[v] = from_f32<X>(expf(to_f32(l[v]) - mx) * inv);
  if (threadIdx.x == 0) losses[blockIdx.x] = logf(sum) + mx - lt;
}

template <typename X>
__global__ void crossentropy_backward_kernel(X* dlogits, const X* probs, const int* targets, float dloss,
                                             int V) {
  const long off = static_cast<long>(blockIdx.x) * V;
  const int target = targets[blockIdx.x];
  for (int v = threadIdx.x; v < V; v += blockDim.x) {
    const float p = to_f32(probs[off + v]);
    dlogits[off + v] = from_f32<X>((p - (v == target ? 1.0f : 0.0f)) * dloss);
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
void crossentropy_forward_cuda(float* losses, X* probs, const X* logits, const int* targets, int N, int V,
                               cudaStream_t stream) {
  crossentropy_forward_kernel<<<N, 512, 0, stream>>>(losses, probs, logits, targets, V);
  CUDA_CHECK(cudaGetLastError());
}

template <typename X>
void crossentropy_backward_cuda(X* dlogits, const X* probs, const int* targets, float dloss, int N, int V,
                                cudaStream_t stream) {
  crossentropy_backward_kernel<<<N, 512, 0, stream>>>(dlogits, probs, targets, dloss, V);
  CUDA_CHECK(cudaGetLastError());
}

void mean_loss_cuda(float* out, const float* losses, int N, cudaStream_t stream) {
  mean_loss_kernel<<<1, 1024, 0, stream>>>(out, losses, N);
  CUDA_CHECK(cudaGetLastError());
}

#define PACI_INSTANTIATE(X)                                                                                 \
  template void crossentropy_forward_cuda<X>(float*, X*, const X*, const int*, int, int, cudaStream_t);     \
  template void crossentropy_backward_cuda<X>(X*, const X*, const int*, float, int, int, cudaStream_t);
PACI_INSTANTIATE(float)
PACI_INSTANTIATE(__nv_bfloat16)
#undef PACI_INSTANTIATE

}  // namespace paci::exec
