// ExplorerConfig: the explorer's controls as one value (schedule, P, K, V, stage costs), and
// the spec and cost model it stands for. K reads as on the command line (tools/README.md): the
// micro-batches per optimizer update for every schedule, so a flush schedule's iteration M is K;
// the spec is sched's SpecFor, as the command line builds it. Times and sizes are the whole
// model's per micro-batch, split evenly over the P stages (so a K x P sweep compares splits of
// one model), times an optional per-stage scale, which is how a user models a slow stage; each
// stage's costs are then built as `paci simulate --fwd-ms ...` builds its uniform costs, in its
// units (ms, us, MiB, Gbit/s). Or the costs come from the model-and-hardware cost model (a named
// model on named hardware, or a measured profile), read as `paci simulate --model ...
// --hardware ...` reads them. Both through SimBackend, the viewer's one door to sim/.
#pragma once

#include <cstdint>
#include <vector>

#include "gui/model/sim_backend.h"
#include "paci.pb.h"
#include "proto/status.h"

namespace paci::gui {

// Where the explorer's costs come from: the typed times below, or `model` (sim::ModelCostInputs:
// --model, --hardware, --link, --profile, --microbatch-size as on the command line).
enum class CostSource { kTyped, kModel };

struct ExplorerConfig {
  ir::ScheduleKind kind = ir::PACI;
  uint32_t stages = 4;               // P
  uint32_t accum = 4;                // K: micro-batches per update, every schedule (flush: M = K)
  uint32_t chunks = 1;               // V (interleaved)
  uint64_t total_microbatches = 0;   // 0: the spec's default run length
  double forward_ms = 4.0;           // whole model, one micro-batch
  double backward_ms = 8.0;          // input + weight gradient, whole model
  double optimizer_ms = 0.3;         // per stage step
  std::vector<double> stage_scale;   // per stage; missing entries are 1
  double activation_mib = 256;       // whole model, one micro-batch
  double weight_mib = 1024;          // whole model
  double link_latency_us = 20;       // --latency-us
  double link_bandwidth_gbps = 200;  // Gbit/s, as --bandwidth-gbps (200 Gbit/s = 25 GB/s)
  uint64_t tokens_per_microbatch = 8192;
  CostSource cost_source = CostSource::kTyped;
  sim::ModelCostInputs model;  // read when cost_source is kModel
  bool operator==(const ExplorerConfig&) const = default;
};

// The normalized spec (sched's SpecFor); the error names the spec field at fault.
Result<ir::PipelineSpec> SpecOf(const ExplorerConfig& c);
// The typed costs of each stage (cost_source kTyped) for c's normalized spec (its V divides the
// compute times and activations), in the command line's units.
std::vector<sim::UniformCost> StageCostsOf(const ExplorerConfig& c, const ir::PipelineSpec& spec);
// The cost model of `c` for its normalized `spec`: the typed costs (SimBackend::TypedCost) or the
// model on hardware (SimBackend::ModelCost).
Result<ir::CostModel> CostOf(const SimBackend& backend, const ExplorerConfig& c,
                             const ir::PipelineSpec& spec);

}  // namespace paci::gui
