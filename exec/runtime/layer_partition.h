// How the GPT layer list is cut into pipeline stages: each virtual stage (stage + chunk * P) gets a
// contiguous slice [first, last) of layers; virtual stage 0 holds the embedding and the last one
// the head and the loss. Balanced by estimated compute (the shared partitioner,
// sched/layer_partition.h), or given explicitly by the user.
#pragma once

#include <string>
#include <vector>

#include "exec/model/gpt.h"
#include "proto/status.h"
#include "sched/layer_partition.h"

namespace paci::exec {

// The executor's name for sched's LayerSlice (the same type, so the simulator can cost a split
// the executor made without converting it).
using LayerRange = LayerSlice;

// Relative forward cost of one layer per token (FLOP estimate): blocks ~24 C^2 + 4 T C, the head
// ~2 C V (+ softmax), the embedding almost nothing.
double layer_cost(const GPTConfig& cfg, int layer);

// Splits gpt_num_layers(cfg) layers into `parts` contiguous non-empty slices minimising the most
// expensive slice by layer_cost (sched's PartitionLayers, no memory cap). Error when there are
// fewer layers than parts (naming --stages) or the search is beyond kMaxPartitionSteps.
Result<std::vector<LayerRange>> partition_balanced(const GPTConfig& cfg, int parts);

// Parses "--partition" text: the first layer of every slice after the first, e.g. "2,4,6" for
// four slices of an 8-layer list. The message names the flag on error.
Result<std::vector<LayerRange>> partition_from_cuts(const GPTConfig& cfg, int parts, const std::string& cuts);

}  // namespace paci::exec
