// The entry points of exec's optional parts (CUDA device, MPI ranks, NCCL transport), each defined
// twice: by the part's real file when CMake built it, else by its stub in exec/runtime/*_none.cc,
// whose Status names the CMake option. exec/CMakeLists.txt compiles exactly one of the two, so the
// factories (device_factory.cc, transport_factory.cc) dispatch without #ifdef. Internal to exec.
#pragma once

#include <chrono>
#include <memory>
#include <string_view>

#include "exec/runtime/pipeline_trainer.h"
#include "exec/runtime/rank_group.h"
#include "exec/runtime/transport_factory.h"
#include "proto/status.h"

namespace paci::exec::parts {

// exec/cuda/cuda_device.cc | cuda_device_none.cc
Status CudaBuilt();
Result<BackendFactory> MakeCudaBackend(ir::Precision precision);
Status BindCudaRank(int local_rank);

// exec/runtime/mpi_ranks.cc | mpi_ranks_none.cc
Status MpiBuilt();
Result<std::unique_ptr<RankGroup>> JoinMpiRanks();
Result<RankTransport> MakeMpiTransport(RankGroup& ranks);

// exec/cuda/nccl_factory.cc | nccl_none.cc
Status NcclBuilt();
Result<RankTransport> MakeNcclTransport(RankGroup& ranks, std::chrono::milliseconds timeout);

}  // namespace paci::exec::parts
