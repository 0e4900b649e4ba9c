// The NCCL transport (exec/runtime/optional_parts.h), compiled when CMake built CUDA and MPI and
// found NCCL: bootstrapped over the MPI job's ranks.
#include <memory>

#include "exec/cuda/nccl_transport.h"
#include "exec/runtime/optional_parts.h"

namespace paci::exec::parts {

Status NcclBuilt() { return Status::Ok(); }

Result<RankTransport> MakeNcclTransport(RankGroup& ranks, std::chrono::milliseconds timeout) {
  const auto* session = dynamic_cast<const MpiSession*>(&ranks);
  if (session == nullptr) return Status::InvalidArgument("--transport nccl needs the ranks of an MPI job");
  // GPU = node-local rank modulo the visible devices; every NCCL wait (creation included) has the
  // receive timeout.
  Result<std::unique_ptr<NcclTransport>> nccl = NcclTransport::Create(*session, -1, timeout);
  if (!nccl.ok()) return nccl.status();
  RankTransport t;
  t.gpu = (*nccl)->device();
  t.transport = std::move(*nccl);
  return t;
}

}  // namespace paci::exec::parts
