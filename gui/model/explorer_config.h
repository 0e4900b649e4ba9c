// ExplorerConfig: the explorer's controls as one value (schedule, P, K, V, stage costs), and
// the spec and cost model it stands for. K reads as on the command line (tools/README.md): the
// micro-batches per optimizer update for every schedule, so a flush schedule's iteration M is K. Times and sizes are the whole model's per micro-batch,
// split evenly over the P stages (so a K x P sweep compares splits of one model), times an
// optional per-stage scale, which is how a user models a slow stage. Or the costs come from the
// model-and-hardware cost model (a named model on named hardware, or a measured profile), read by
// the same function as `paci simulate --model ... --hardware ...` (sim/model_setup.h).
#pragma once

#include <cstdint>
#include <vector>

#include "paci.pb.h"
#include "sim/model_setup.h"

namespace paci::gui {

// Where the explorer's costs come from: the typed times below, or `model` (sim::ModelCostInputs:
// --model, --hardware, --link, --profile, --microbatch-size as on the command line).
enum class CostSource { kTyped, kModel };

struct ExplorerConfig {
  ir::ScheduleKind kind = ir::PACI;
  uint32_t stages = 4;            // P
  uint32_t accum = 4;             // K: micro-batches per update, every schedule (flush: M = K)
  uint32_t chunks = 1;            // V (interleaved)
  uint64_t total_microbatches = 0;  // 0: the spec's default run length
  double forward_ms = 4.0;        // whole model, one micro-batch
  double backward_ms = 8.0;       // input + weight gradient, whole model
  double optimizer_ms = 0.3;      // per stage step
  std::vector<double> stage_scale;  // per stage; missing entries are 1
  double activation_mib = 256;    // whole model, one micro-batch
  double weight_mib = 1024;       // whole model
  double link_latency_us = 20;
  double link_gb_per_s = 25;
  uint64_t tokens_per_microbatch = 8192;
  CostSource cost_source = CostSource::kTyped;
  sim::ModelCostInputs model;     // read when cost_source is kModel
  bool operator==(const ExplorerConfig&) const = default;
};

ir::PipelineSpec SpecOf(const ExplorerConfig& c);
// The typed times' cost model (cost_source kTyped); SimBackend::ModelCost reads `model`.
ir::CostModel CostOf(const ExplorerConfig& c);

}  // namespace paci::gui
