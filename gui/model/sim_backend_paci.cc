// SimBackend over paci_sim: generate the schedule, play it with a VectorTraceSink, and read the
// cards from the simulator's own SimulationResult so the explorer shows the simulator's numbers.
#include <algorithm>

#include "gui/model/sim_backend.h"
#include "sched/pipeline_spec.h"
#include "sched/schedule_generator.h"
#include "sim/model_setup.h"
#include "sim/simulator.h"

namespace paci::gui {
namespace {

MetricCards CardsOf(const sim::SimulationResult& r) {
  MetricCards c;
  c.tokens_per_s = r.tokens_per_s;
  c.bubble_fraction = r.bubble_fraction;
  c.makespan_ns = r.makespan_ns;
  double drift_sum = 0;
  for (const auto& s : r.stages) {
    c.peak_bytes.push_back(s.peak_memory_bytes);
    c.max_drift = std::max(c.max_drift, static_cast<double>(s.max_drift));
    drift_sum += s.mean_drift;
  }
  c.mean_drift = r.stages.empty() ? 0 : drift_sum / r.stages.size();
  return c;
}

class PaciSimBackend : public SimBackend {
 public:
  Result<SimOutcome> Simulate(const ir::PipelineSpec& spec,
                              const ir::CostModel& cost) const override {
    auto schedule = GenerateSchedule(spec);
    if (!schedule.ok()) return schedule.status();
    VectorTraceSink sink;
    sim::SimulationOptions options;
    options.sink = &sink;
    auto result = sim::Simulate(*schedule, cost, options);
    if (!result.ok()) return result.status();
    SimOutcome out;
    out.spec = schedule->spec();
    out.cost = cost;
    out.ops = std::move(sink.ops);
    out.memory = std::move(sink.memory);
    out.cards = CardsOf(*result);
    return out;
  }

  Result<ir::CostModel> ModelCost(const sim::ModelCostInputs& inputs,
                                  const ir::PipelineSpec& spec) const override {
    Result<sim::ModelCostSetup> setup = sim::ModelSetupFromInputs(inputs);
    if (!setup.ok()) return setup.status();
    // The normalized spec (its windows), as `paci simulate` partitions for the generated schedule's.
    Result<ir::PipelineSpec> normalized = NormalizeSpec(spec);
    if (!normalized.ok()) return normalized.status();
    return sim::CostModelForSpec(*setup, *normalized);
  }
};

}  // namespace

std::shared_ptr<const SimBackend> MakePaciSimBackend() {
  return std::make_shared<const PaciSimBackend>();
}

std::function<Status(const ir::Schedule&, const ir::CostModel&, TraceSink&)> MakeStoreReplay() {
  return sim::Replay;
}

}  // namespace paci::gui
