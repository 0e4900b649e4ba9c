// PipeMare's weight arithmetic on the GPU. CPU reference: exec/runtime/pipemare.h.
#pragma once

#include <cstddef>

#include <cuda_runtime.h>

namespace paci::exec {

// delta = gamma * delta + (1 - gamma) * (w - before)
void pipemare_update_delta_cuda(float* delta, const float* w, const float* before, float gamma, size_t n,
                                cudaStream_t stream);
// out = w - drift * delta
void pipemare_corrected_weights_cuda(float* out, const float* w, const float* delta, float drift, size_t n,
                                     cudaStream_t stream);

}  // namespace paci::exec
