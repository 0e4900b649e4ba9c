#include "exec/runtime/transport_factory.h"

#include <string>

#include "exec/runtime/device_factory.h"
#include "exec/runtime/optional_parts.h"

namespace paci::exec {

Status TransportBuilt(std::string_view kind) {
  if (kind == "threads") return Status::Ok();
  if (kind == "mpi") return parts::MpiBuilt();
  if (kind == "nccl") return parts::NcclBuilt();
  return Status::InvalidArgument("unknown transport '" + std::string(kind) + "' (threads, mpi or nccl)");
}

Result<std::unique_ptr<RankGroup>> JoinRanks() { return parts::JoinMpiRanks(); }

Result<RankTransport> MakeTransport(std::string_view kind, RankGroup& ranks, std::string_view device,
                                    std::chrono::milliseconds timeout) {
  if (kind == "nccl") return parts::MakeNcclTransport(ranks, timeout);
  if (kind != "mpi") {
    // Threads are one process, not ranks: TrainPipelineThreads makes their transport itself.
    return Status::InvalidArgument("transport '" + std::string(kind) + "' does not join ranks (mpi or nccl)");
  }
  // GPU ranks over MPI pass stage messages through host memory, each on its node's GPU.
  PACI_RETURN_IF_ERROR(BindRankDevice(device, ranks.local_rank()));
  return parts::MakeMpiTransport(ranks);
}

}  // namespace paci::exec
