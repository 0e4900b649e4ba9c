// SimBackend: the viewer's one door to the simulator, so the explorer and its tests do not care
// how a configuration is played. PaciSimBackend (sim_backend_paci.cc) calls paci_sim in process;
// tests may pass a fake. Simulate must be safe to call from several worker threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "paci.pb.h"
#include "proto/status.h"
#include "proto/trace_sink.h"
#include "sim/model_setup.h"

namespace paci::gui {

// What the explorer's cards show, straight from the simulator's own metrics.
struct MetricCards {
  double tokens_per_s = 0;
  double bubble_fraction = 0;          // over all stages, idle / (idle + busy)
  int64_t makespan_ns = 0;
  std::vector<uint64_t> peak_bytes;    // per stage
  double max_drift = 0;                // over stages
  double mean_drift = 0;               // mean over stages of the per-stage mean drift
  bool operator==(const MetricCards&) const = default;
};

struct SimOutcome {
  ir::PipelineSpec spec;               // normalized
  ir::CostModel cost;
  std::vector<ir::TraceEvent> ops;
  std::vector<ir::MemorySample> memory;
  MetricCards cards;
};

class SimBackend {
 public:
  virtual ~SimBackend() = default;
  virtual Result<SimOutcome> Simulate(const ir::PipelineSpec& spec,
                                      const ir::CostModel& cost) const = 0;
  // The cost model of a model on hardware (or a profile) for `spec`: the inputs read as the
  // command line reads its flags (sim::ModelSetupFromInputs), the layers split by the partitioner.
  virtual Result<ir::CostModel> ModelCost(const sim::ModelCostInputs& inputs,
                                          const ir::PipelineSpec& spec) const = 0;
};

// The in-process simulator, or nullptr when the viewer was built without paci_sim.
std::shared_ptr<const SimBackend> MakePaciSimBackend();

// The simulator as the trace store's ReplayFn (store/trace_store.h): re-simulates a predicted
// run the store keeps compactly. Empty without paci_sim: such runs then say they cannot open.
std::function<Status(const ir::Schedule&, const ir::CostModel&, TraceSink&)> MakeStoreReplay();

}  // namespace paci::gui
