#include "exec/cuda/pipemare.cuh"

#include <algorithm>

#include "exec/cuda/cuda_common.h"

namespace paci::exec {
namespace {

__global__ void update_delta_kernel(float* delta, const float* w, const float* before, float gamma, size_t n) {
  for (size_t i = blockIdx.x * size_t{blockDim.x} + threadIdx.x; i < n; i += size_t{gridDim.x} * blockDim.x)
    delta[i] = gamma * delta[i] + (1 - gamma) * (w[i] - before[i]);
}

__global__ void corrected_kernel(float* out, const float* w, const float* delta, float drift, size_t n) {
  for (size_t i = blockIdx.x * size_t{blockDim.x} + threadIdx.x; i < n; i += size_t{gridDim.x} * blockDim.x)
    out[i] = w[i] - drift * delta[i];
}

unsigned Blocks(size_t n) { return static_cast<unsigned>(std::min<size_t>((n + 255) / 256, 4096)); }

}  // namespace

void pipemare_update_delta_cuda(float* delta, const float* w, const float* before, float gamma, size_t n,
                                cudaStream_t stream) {
  if (n == 0) return;
  update_delta_kernel<<<Blocks(n), 256, 0, stream>>>(delta, w, before, gamma, n);
  CUDA_CHECK(cudaGetLastError());
}

void pipemare_corrected_weights_cuda(float* out, const float* w, const float* delta, float drift, size_t n,
                                     cudaStream_t stream) {
  if (n == 0) return;
  corrected_kernel<<<Blocks(n), 256, 0, stream>>>(out, w, delta, drift, n);
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace paci::exec
