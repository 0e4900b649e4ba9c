// The byte sizes of a pipelined run that the simulator needs to replay it (`paci predict`):
// weights, gradients and AdamW state per stage, the activation message, tokens per micro-batch.
// Times are left for the cost-model fit to measure.
#pragma once

#include <vector>

#include "exec/model/train.h"
#include "exec/runtime/layer_partition.h"
#include "paci.pb.h"

namespace paci::exec {

// `activation_bytes`: bytes of one activation element (4 fp32; 2 for bf16 activations on a GPU).
ir::CostModel StageSizes(const TrainConfig& train, const ir::Schedule& schedule,
                         const std::vector<LayerRange>& ranges, int activation_bytes = 4);

}  // namespace paci::exec
