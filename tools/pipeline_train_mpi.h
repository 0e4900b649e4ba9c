// `paci train --transport mpi|nccl` under mpirun or srun: this process is one rank, one stage. The
// one file of tools/ that coordinates ranks around the store: rank 0 begins the run and broadcasts
// its id, the others attach to it, each stores its own stage's metrics, the last rank the run's
// result, and rank 0 marks it complete once every rank has committed. The ranks, the device and
// the transport come from exec's factories (exec/runtime/transport_factory.h), so this file builds
// with or without MPI and a build without it exits 2 naming the CMake option.
#pragma once

#include <functional>
#include <vector>

#include "exec/model/data.h"
#include "exec/runtime/pipeline_trainer.h"
#include "store/run_info.h"
#include "tools/pipeline_train.h"

namespace paci::cli {

// Trains this rank's stage of `schedule`. `run_info` describes the run; only rank 0 asks for it, to
// begin the stored run. Exits the command: 2 on bad flags or a build without the transport, 1 on
// a failed run (every rank ends with the first failure).
void RunRanks(const exec::TrainConfig& cfg, const PipelineTrainFlags& f, const exec::DataSplit& data,
              const ir::Schedule& schedule, const exec::PipelineConfig& pc,
              const std::function<store::RunInfo()>& run_info);

}  // namespace paci::cli
