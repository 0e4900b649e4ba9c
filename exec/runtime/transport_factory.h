// The transport between the stage processes of a pipelined run, chosen by name: "threads" (in one
// process, made by TrainPipelineThreads) is always built; "mpi" when CMake found MPI
// (-DPACI_WITH_MPI), "nccl" when it also built CUDA and found NCCL. The one place that knows which
// transports this build has: one it lacks is a Status naming the option, so callers need no #ifdef.
#pragma once

#include <chrono>
#include <memory>
#include <string_view>

#include "exec/runtime/rank_group.h"
#include "exec/runtime/transport.h"
#include "proto/status.h"

namespace paci::exec {

// Ok when `kind` ("threads", "mpi", "nccl") was built; else why not, naming the CMake option.
Status TransportBuilt(std::string_view kind);

// Joins the job the launcher started (MPI_Init): this process is one rank, one stage. Fails when
// MPI was not built.
Result<std::unique_ptr<RankGroup>> JoinRanks();

// This rank's endpoint of a rank transport, and the GPU it chose (-1: none chosen by it).
struct RankTransport {
  std::unique_ptr<Transport> transport;
  int gpu = -1;
};

// Collective: every rank of `ranks` calls it. "mpi": stage messages through host memory, after
// BindRankDevice(device) puts a "cuda" rank on its GPU. "nccl": device buffers move directly, on
// GPU local_rank % devices; `timeout` bounds the communicator's creation (a rank that never comes).
Result<RankTransport> MakeTransport(std::string_view kind, RankGroup& ranks, std::string_view device,
                                    std::chrono::milliseconds timeout);

}  // namespace paci::exec
