// SimBackend over paci_sim: generate the schedule, play it with a VectorTraceSink, and read the
// cards from the simulator's own SimulationResult so the explorer shows the simulator's numbers.
#include <algorithm>

#include "gui/model/sim_backend.h"
#include "sched/schedule_generator.h"
#include "sim/model_cost.h"
#include "sim/model_setup.h"
#include "sim/simulator.h"
#include "sim/stage_cost_model.h"
#include "sim/update_timing.h"

namespace paci::gui {
namespace {

MetricCards CardsOf(const sim::SimulationResult& r) {
  MetricCards c;
  c.tokens_per_s = r.tokens_per_s;
  c.bubble_fraction = r.bubble_fraction;
  c.microbatches_per_s = r.throughput_microbatches_per_s;
  c.microbatches = r.microbatches;
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
  Result<SimOutcome> Simulate(const ir::PipelineSpec& spec, const ir::CostModel& cost) const override {
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
    // The headline: the steady state, which a short run's fill and drain hide.
    // A run whose updates take no time (every cost 0) has none: the cards show the run's figures.
    Result<sim::SteadyState> steady = sim::SimulateSteadyState(out.spec, cost);
    if (!steady.ok()) return out;
    out.cards.steady_tokens_per_s = steady->tokens_per_s;
    out.cards.steady_microbatches_per_s = steady->microbatches_per_s;
    out.cards.steady_bubble_fraction = steady->bubble_fraction;
    out.cards.steady_updates = steady->updates;
    return out;
  }

  Result<ir::CostModel> ModelCost(const sim::ModelCostInputs& inputs,
                                  const ir::PipelineSpec& spec) const override {
    Result<sim::ModelCostSetup> setup = sim::ModelSetupFromInputs(inputs);
    if (!setup.ok()) return setup.status();
    return sim::CostModelForSpec(*setup, spec);
  }

  Result<ir::CostModel> TypedCost(const std::vector<sim::UniformCost>& stages) const override {
    if (stages.empty()) return Status::InvalidArgument("typed costs: no stage");
    ir::CostModel cost = sim::MakeCostModel(stages.front());
    for (size_t s = 1; s < stages.size(); ++s) *cost.add_stages() = sim::MakeCostModel(stages[s]).stages(0);
    return cost;
  }

  CostNames Names() const override { return {sim::ModelNames(), sim::HardwareNames(), sim::LinkNames()}; }
};

}  // namespace

std::shared_ptr<const SimBackend> MakePaciSimBackend() { return std::make_shared<const PaciSimBackend>(); }

std::function<Status(const ir::Schedule&, const ir::CostModel&, TraceSink&)> MakeStoreReplay() {
  return sim::Replay;
}

}  // namespace paci::gui
