// The MPI ranks (optional_parts.h), compiled when CMake found MPI: MpiSession is the RankGroup,
// MpiTransport the transport.
#include <memory>

#include "exec/runtime/mpi_transport.h"
#include "exec/runtime/optional_parts.h"

namespace paci::exec::parts {

Status MpiBuilt() { return Status::Ok(); }

Result<std::unique_ptr<RankGroup>> JoinMpiRanks() {
  return std::unique_ptr<RankGroup>(std::make_unique<MpiSession>(nullptr, nullptr));
}

Result<RankTransport> MakeMpiTransport(RankGroup& ranks) {
  // The only RankGroup of a build is MpiSession (JoinMpiRanks); anything else cannot carry MPI.
  const auto* session = dynamic_cast<const MpiSession*>(&ranks);
  if (session == nullptr) return Status::InvalidArgument("--transport mpi needs the ranks of an MPI job");
  RankTransport t;
  t.transport = std::make_unique<MpiTransport>(*session);
  return t;
}

}  // namespace paci::exec::parts
