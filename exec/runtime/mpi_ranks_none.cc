// The MPI ranks' stub, compiled when CMake did not find MPI (optional_parts.h).
#include "exec/runtime/optional_parts.h"

namespace paci::exec::parts {

Status MpiBuilt() {
  return Status::FailedPrecondition(
      "MPI transport not built: configure with -DPACI_WITH_MPI=ON where MPI is installed (libopenmpi-dev)");
}

Result<std::unique_ptr<RankGroup>> JoinMpiRanks() { return MpiBuilt(); }

Result<RankTransport> MakeMpiTransport(RankGroup& /*ranks*/) { return MpiBuilt(); }

}  // namespace paci::exec::parts
