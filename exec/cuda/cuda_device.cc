// The CUDA device (exec/runtime/optional_parts.h), compiled when CMake built the CUDA executor:
// the probe that says why no GPU is usable, the CUDA backend, a rank's GPU.
#include <string>

#include "exec/cuda/cuda_backend.h"
#include "exec/cuda/cuda_common.h"
#include "exec/runtime/optional_parts.h"

namespace paci::exec::parts {

Status CudaBuilt() { return Status::Ok(); }

Result<BackendFactory> MakeCudaBackend(ir::Precision precision) {
  if (const CudaDeviceProbe probe = cuda_probe_devices(); probe.count == 0)
    return Status::FailedPrecondition(probe.message + (probe.absent() ? "; use --device cpu" : ""));
  return CudaBackendFactory(precision);
}

Status BindCudaRank(int local_rank) {
  const CudaDeviceProbe probe = cuda_probe_devices();
  if (probe.count == 0) return Status::FailedPrecondition(probe.message);
  CUDA_CHECK(cudaSetDevice(local_rank % probe.count));
  return Status::Ok();
}

}  // namespace paci::exec::parts
