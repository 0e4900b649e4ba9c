// The layer partitioner both engines use: cuts a model's layer list into contiguous slices, one per
// virtual stage, so that the slowest slice is as fast as possible, optionally with every slice's
// memory under a cap. Pure arithmetic over per-layer costs: the simulator passes modelled or
// profiled times and bytes (sim/model_cost.h), the executor FLOP estimates (exec/runtime/layer_partition.h).
#pragma once

#include <cstdint>
#include <vector>

#include "proto/status.h"

namespace paci {

// Layers [first, last) of one virtual stage.
struct LayerSlice {
  int first = 0;
  int last = 0;  // exclusive
};

// What the partitioner knows of one layer. Bytes are doubles because only sums and comparisons
// against the cap are needed, and they must match the cost model's own arithmetic.
struct LayerLoad {
  double compute = 0;           // what the slowest slice minimises: a time or a FLOP estimate
  double static_bytes = 0;      // held once: weights + gradients + optimizer state
  double activation_bytes = 0;  // held per micro-batch in flight
};

// Steps of the dynamic programme (parts x (layers - parts + 1) x (layers + 1) / 2) it takes on:
// about 1 ns each, so ~2 s on one core of the 2-core development box (measured: 9e8 steps in
// 0.76 s). kMaxModelLayers (sim/model_cost.h) bounds what a model may have, but the O(P L^2) search
// over 2^20 layers would run for days (issue 25), so a split beyond this is refused, naming its
// size: up to ~65,500 blocks on one stage, ~23,000 over 8 stages, ~2,600 over 1,024.
inline constexpr double kMaxPartitionSteps = double(uint64_t{1} << 31);

// Splits `layers` into `parts` contiguous non-empty slices minimising the largest slice compute,
// subject to each slice's memory fitting `memory_cap_bytes` (0 = no cap): static_bytes +
// activation_bytes x inflight[v] (1 past the end of `inflight`). Exact; among equal optima each
// step keeps the smallest cut that reaches its optimum, so a split never depends on anything but
// the costs. Error when there are fewer layers than parts, the search would take more than
// kMaxPartitionSteps, or nothing fits the cap.
Result<std::vector<LayerSlice>> PartitionLayers(const std::vector<LayerLoad>& layers, uint32_t parts,
                                                const std::vector<uint32_t>& inflight,
                                                double memory_cap_bytes);

}  // namespace paci
