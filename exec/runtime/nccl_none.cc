// The NCCL transport's stub, compiled unless CMake built CUDA and MPI and found NCCL
// (optional_parts.h).
#include "exec/runtime/optional_parts.h"

namespace paci::exec::parts {

Status NcclBuilt() {
  return Status::FailedPrecondition(
      "NCCL transport not built: configure with -DPACI_WITH_CUDA=ON and -DPACI_WITH_MPI=ON where NCCL "
      "(nccl.h, libnccl) is installed");
}

Result<RankTransport> MakeNcclTransport(RankGroup& /*ranks*/, std::chrono::milliseconds /*timeout*/) {
  return NcclBuilt();
}

}  // namespace paci::exec::parts
