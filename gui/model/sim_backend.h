// SimBackend: the viewer's one door to the simulator, so the explorer and its tests do not care
// how a configuration is played, and no other file of gui/ includes a sim/ header. PaciSimBackend
// (sim_backend_paci.cc) calls paci_sim in process, with the command line's own functions for the
// cost models; tests may pass a fake. Its methods must be safe to call from several worker threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "paci.pb.h"
#include "proto/status.h"
#include "proto/trace_sink.h"
#include "sim/model_setup.h"       // sim::ModelCostInputs: the model-and-hardware inputs
#include "sim/stage_cost_model.h"  // sim::UniformCost: the typed costs, in the CLI's units

namespace paci::gui {

// What the explorer's cards show, straight from the simulator's own metrics. The headline is the
// steady state (sim::SimulateSteadyState: what a long run of the configuration tends to); the
// simulated run's own figures, fill and drain included, stand beside it.
struct MetricCards {
  double tokens_per_s = 0;     // the simulated run's
  double bubble_fraction = 0;  // the simulated run's, over all stages, idle / (idle + busy)
  double microbatches_per_s = 0;
  uint64_t microbatches = 0;  // the simulated run's length
  double steady_tokens_per_s = 0;
  double steady_microbatches_per_s = 0;
  double steady_bubble_fraction = 0;
  uint64_t steady_updates = 0;  // R: runs of R and 2R updates gave it; 0: none (updates take no time)
  int64_t makespan_ns = 0;
  std::vector<uint64_t> peak_bytes;  // per stage
  double max_drift = 0;              // over stages
  double mean_drift = 0;             // mean over stages of the per-stage mean drift
  bool operator==(const MetricCards&) const = default;
};

struct SimOutcome {
  ir::PipelineSpec spec;  // normalized
  ir::CostModel cost;
  std::vector<ir::TraceEvent> ops;
  std::vector<ir::MemorySample> memory;
  MetricCards cards;
};

// The names the model-and-hardware inputs know (`--model`, `--hardware`, `--link`), for menus.
struct CostNames {
  std::vector<std::string> models, hardware, links;
};

class SimBackend {
 public:
  virtual ~SimBackend() = default;
  virtual Result<SimOutcome> Simulate(const ir::PipelineSpec& spec, const ir::CostModel& cost) const = 0;
  // The cost model of a model on hardware (or a profile) for the normalized `spec` (sched's
  // SpecFor, as `paci simulate` partitions for the generated schedule's): the inputs read as the
  // command line reads its flags (sim::ModelSetupFromInputs), the layers split by the partitioner.
  virtual Result<ir::CostModel> ModelCost(const sim::ModelCostInputs& inputs,
                                          const ir::PipelineSpec& spec) const = 0;
  // The cost model of typed costs, one sim::UniformCost per stage, each stage built as `paci
  // simulate --fwd-ms ... --bandwidth-gbps ...` builds its one (sim::MakeCostModel); the link,
  // jitter and tokens per micro-batch are the first stage's.
  virtual Result<ir::CostModel> TypedCost(const std::vector<sim::UniformCost>& stages) const = 0;
  virtual CostNames Names() const = 0;
};

// The in-process simulator.
std::shared_ptr<const SimBackend> MakePaciSimBackend();

// The simulator as the trace store's ReplayFn (store/trace_store.h): re-simulates a predicted
// run the store keeps compactly.
std::function<Status(const ir::Schedule&, const ir::CostModel&, TraceSink&)> MakeStoreReplay();

}  // namespace paci::gui
