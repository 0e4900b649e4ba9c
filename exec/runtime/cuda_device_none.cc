// The CUDA device's stub, compiled when CMake did not build the CUDA executor (optional_parts.h).
#include "exec/runtime/optional_parts.h"

namespace paci::exec::parts {

Status CudaBuilt() {
  return Status::FailedPrecondition(
      "CUDA backend not built: configure with -DPACI_WITH_CUDA=ON on a machine with the CUDA toolkit");
}

Result<BackendFactory> MakeCudaBackend(ir::Precision /*precision*/) { return CudaBuilt(); }

Status BindCudaRank(int /*local_rank*/) { return CudaBuilt(); }

}  // namespace paci::exec::parts
