// The device a pipelined run's stages train on, chosen by name: "cpu" is always built, "cuda" when
// CMake built the CUDA executor (-DPACI_WITH_CUDA). The one place that knows which devices this
// build has: a device it lacks is a Status naming the option that builds it, so callers need no
// #ifdef (ggml-style: one StageBackend interface, a file per device chosen by exec/CMakeLists.txt).
#pragma once

#include <string_view>

#include "exec/runtime/pipeline_trainer.h"
#include "proto/status.h"

namespace paci::exec {

// The PipelineConfig::backend for `device` ("cpu": empty, the CPU backend; "cuda": every stage on
// the current GPU, activations in `precision`; the CPU trains in fp32 whatever it says). Fails when the
// device was not built, when no GPU is usable (the probe's reason), or for an unknown name.
Result<BackendFactory> MakeStageBackend(std::string_view device, ir::Precision precision);

// One rank per stage over a host transport (MPI): puts this process on GPU local_rank % devices
// for "cuda"; nothing for "cpu". NCCL picks its GPU itself (transport_factory.h).
Status BindRankDevice(std::string_view device, int local_rank);

}  // namespace paci::exec
