// Element-wise kernels: GELU (tanh approximation) forward and backward, the residual add, and
// precision conversion. CPU references: gelu_forward and gelu_backward in exec/model/layers.h; the residual
// add is the `r2[i] += x[i]` / `y[i] += r2[i]` loop of block_forward in exec/model/stage.cc.
#pragma once

#include <cstddef>

#include <cuda_runtime.h>

namespace paci::exec {

template <typename X>
void gelu_forward_cuda(X* out, const X* inp, long N, cudaStream_t stream);
// dinp = gelu'(inp) * dout (overwrite, as the CPU reference). dinp may alias dout.
template <typename X>
void gelu_backward_cuda(X* dinp, const X* inp, const X* dout, long N, cudaStream_t stream);
// out = a + b; out may alias a or b.
template <typename X>
void residual_forward_cuda(X* out, const X* a, const X* b, long N, cudaStream_t stream);
// out = in converted (round to nearest even into bf16).
template <typename Dst, typename Src>
void convert_cuda(Dst* out, const Src* in, size_t n, cudaStream_t stream);

}  // namespace paci::exec
