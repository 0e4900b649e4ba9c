// The linear layer on the GPU through cuBLAS (row-major tensors, torch.nn.Linear weights [OC, C]).
// CPU references: matmul_forward, matmul_backward_input, matmul_backward_weight in exec/model/layers.h.
// X operands (float, or bf16 with fp32 accumulation); bias, dw and dbias are fp32 master copies.
#pragma once

#include "exec/cuda/cuda_common.h"

namespace paci::exec {

// out (N,OC) = inp (N,C) @ w^T + bias (bias may be null). Overwrites out.
template <typename X>
void matmul_forward_cuda(const CudaContext& ctx, X* out, const X* inp, const X* w, const float* bias, int N,
                         int C, int OC);
// dinp (N,C) (+)= dout (N,OC) @ w. accumulate=true matches the CPU reference (+=); false overwrites,
// which saves zeroing a buffer first.
template <typename X>
void matmul_backward_input_cuda(const CudaContext& ctx, X* dinp, const X* dout, const X* w, int N, int C,
                                int OC, bool accumulate);
// dw (OC,C) += dout^T @ inp, dbias (OC) += column sums of dout (dbias may be null). The GEMM writes
// fp32 dw directly from X operands (cuBLAS bf16 x bf16 -> fp32), so bf16 runs lose nothing here.
template <typename X>
void matmul_backward_weight_cuda(const CudaContext& ctx, float* dw, float* dbias, const X* dout, const X* inp,
                                 int N, int C, int OC);

}  // namespace paci::exec
