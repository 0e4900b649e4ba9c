// CudaContext creation. See cuda_common.h.
#include "exec/cuda/cuda_common.h"

namespace paci::exec {

CudaContext cuda_context_create(cudaStream_t stream) {
  CudaContext ctx;
  if (stream == nullptr) {
    CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    ctx.owns_stream = true;
  }
  ctx.stream = stream;
  CUBLAS_CHECK(cublasCreate(&ctx.cublas));
  CUBLAS_CHECK(cublasSetStream(ctx.cublas, stream));
  // 32 MiB, cuBLAS's recommendation for Hopper; a private workspace per handle lets handles on
  // different streams run concurrently without serialising on the shared default one.
  ctx.workspace_bytes = size_t{32} << 20;
  CUDA_CHECK(cudaMalloc(&ctx.workspace, ctx.workspace_bytes));
  ctx.memory = DeviceMemoryScope::Current();
  if (ctx.memory != nullptr) ctx.memory->Allocated(ctx.workspace_bytes);
  CUBLAS_CHECK(cublasSetWorkspace(ctx.cublas, ctx.workspace, ctx.workspace_bytes));
  // Default math: GEMMs with CUBLAS_COMPUTE_32F stay true fp32 (no TF32), so fp32 tests hold 1e-5,
  // while bf16 operands still use tensor cores (PEDANTIC would turn those off).
  CUBLAS_CHECK(cublasSetMathMode(ctx.cublas, CUBLAS_DEFAULT_MATH));
  return ctx;
}

void cuda_context_destroy(CudaContext* ctx) {
  if (ctx->cublas != nullptr) CUBLAS_CHECK(cublasDestroy(ctx->cublas));
  if (ctx->workspace != nullptr) {
    CUDA_CHECK(cudaFree(ctx->workspace));
    if (ctx->memory != nullptr) ctx->memory->Freed(ctx->workspace_bytes);
  }
  if (ctx->stream != nullptr && ctx->owns_stream) CUDA_CHECK(cudaStreamDestroy(ctx->stream));
  *ctx = CudaContext{};
}

}  // namespace paci::exec
