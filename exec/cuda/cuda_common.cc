// CudaContext creation. See cuda_common.h.
#include "exec/cuda/cuda_common.h"

namespace paci::exec {

std::string cuda_version_text(int version) {
  return std::to_string(version / 1000) + "." + std::to_string((version % 1000) / 10);
}

CudaDeviceProbe cuda_classify_devices(cudaError_t err, int count, int driver_version, int runtime_version) {
  CudaDeviceProbe p;
  p.driver_version = driver_version;
  p.runtime_version = runtime_version;
  const std::string runtime = cuda_version_text(runtime_version);
  const std::string driver = cuda_version_text(driver_version);
  if (err == cudaSuccess && count > 0) {
    p.state = CudaDeviceState::kAvailable;
    p.count = count;
  } else if (driver_version == 0) {
    // cudaErrorInsufficientDriver is what the runtime reports when libcuda is missing altogether.
    p.state = CudaDeviceState::kNoDriver;
    p.message = "no CUDA device is visible: no NVIDIA driver is installed (CUDA runtime " + runtime + ")";
  } else if (err == cudaSuccess || err == cudaErrorNoDevice) {
    p.state = CudaDeviceState::kNoDevice;
    p.message = "no CUDA device is visible (NVIDIA driver for CUDA " + driver + " present; check CUDA_VISIBLE_DEVICES)";
  } else if (err == cudaErrorInsufficientDriver) {
    p.state = CudaDeviceState::kDriverTooOld;
    p.message = "the NVIDIA driver supports CUDA up to " + driver + " but this program was built with CUDA runtime " +
                runtime + " (cudaErrorInsufficientDriver): install a driver for CUDA " + runtime +
                " or newer, or build with a CUDA " + driver + " toolkit";
  } else {
    p.state = CudaDeviceState::kError;
    p.message = std::string("cudaGetDeviceCount failed: ") + cudaGetErrorName(err) + ": " + cudaGetErrorString(err) +
                " (NVIDIA driver for CUDA " + driver + ", CUDA runtime " + runtime + ")";
  }
  return p;
}

CudaDeviceProbe cuda_probe_devices() {
  int n = 0, driver = 0, runtime = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  (void)cudaGetLastError();  // clear the error cudaGetDeviceCount may have left
  if (cudaDriverGetVersion(&driver) != cudaSuccess) driver = 0;
  if (cudaRuntimeGetVersion(&runtime) != cudaSuccess) runtime = CUDART_VERSION;
  (void)cudaGetLastError();
  return cuda_classify_devices(err, n, driver, runtime);
}

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

// Teardown: never exits (a backend that failed is destroyed after its error was reported).
void cuda_context_destroy(CudaContext* ctx) {
  if (ctx->cublas != nullptr && cublasDestroy(ctx->cublas) != CUBLAS_STATUS_SUCCESS)
    cuda_teardown_check(cudaErrorUnknown, "cublasDestroy");
  if (ctx->workspace != nullptr) {
    cuda_teardown_check(cudaFree(ctx->workspace), "cudaFree(workspace)");
    if (ctx->memory != nullptr) ctx->memory->Freed(ctx->workspace_bytes);
  }
  if (ctx->stream != nullptr && ctx->owns_stream) cuda_teardown_check(cudaStreamDestroy(ctx->stream), "cudaStreamDestroy");
  *ctx = CudaContext{};
}

}  // namespace paci::exec
