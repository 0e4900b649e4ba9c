// `paci predict --run ID`: fits a cost model to a measured run's op durations (sim/cost_model_fit.h),
// simulates the same IR with it, stores the prediction linked to the measured run, and prints the
// predicted and measured time per update. `paci compare PRED MEASURED` then shows the error per stage.
#include <cmath>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "sched/schedule_validator.h"
#include "sim/cost_model_fit.h"
#include "sim/simulator.h"
#include "store/run_metrics.h"
#include "store/trace_store.h"
#include "tools/commands.h"
#include "tools/exit_codes.h"

namespace paci::cli {
namespace {

struct PredictFlags {
  std::string db = "paci.db";
  int64_t run = 0;
};

// The sizes stored with the measured run, with each stage's measured activation bytes.
ir::CostModel BaseCost(const store::RunData& run) {
  ir::CostModel base = run.record.info.cost_model.value_or(ir::CostModel());
  for (int s = 0; s < base.stages_size(); ++s) {
    auto it = run.metrics.find(fmt::format("activation_bytes_stage{}", s));
    if (it != run.metrics.end()) base.mutable_stages(s)->set_activation_bytes(static_cast<uint64_t>(it->second));
  }
  return base;
}

void StorePredictionMetrics(store::RunWriter& w, const sim::SimulationResult& r) {
  (void)w.SetMetric("makespan_ns", static_cast<double>(r.makespan_ns));
  (void)w.SetMetric("tokens_per_s", r.tokens_per_s);
  (void)w.SetMetric("updates", static_cast<double>(r.optimizer_updates));
  (void)w.SetMetric("time_per_update_ms", r.makespan_ms() / std::max<double>(1.0, static_cast<double>(r.optimizer_updates)));
  for (const sim::StageMetrics& s : r.stages) {
    (void)w.SetMetric(fmt::format("peak_memory_bytes_stage{}", s.stage), static_cast<double>(s.peak_memory_bytes));
    (void)w.SetMetric(fmt::format("max_drift_stage{}", s.stage), s.max_drift);
    (void)w.SetMetric(fmt::format("weight_versions_stage{}", s.stage), s.weight_versions);
  }
}

void RunPredict(const PredictFlags& f) {
  Result<store::TraceStore> db = store::TraceStore::Open(f.db, store::OpenOptions{.create_if_missing = false});
  if (!db.ok()) Fail(2, "--db: " + db.status().message());
  Result<store::RunData> run = db->LoadRun(f.run);
  if (!run.ok()) Fail(2, "--run: " + run.status().message());
  if (run->record.info.kind != store::RunKind::kMeasured) Fail(2, fmt::format("--run: run {} is not a measured run", f.run));
  if (!run->record.info.schedule) Fail(2, fmt::format("--run: run {} has no schedule IR stored", f.run));
  const ir::Schedule& schedule = *run->record.info.schedule;
  // The store holds whatever was written or imported: check the IR before the simulator plays it.
  if (Status st = ValidateSchedule(schedule); !st.ok())
    Fail(2, fmt::format("--run: run {}: stored schedule: {}", f.run, st.message()));
  Result<ir::CostModel> cost = sim::FitCostModel(schedule, run->ops, BaseCost(*run));
  if (!cost.ok()) Fail(2, cost.status().message());

  store::RunInfo info;
  info.kind = store::RunKind::kPredicted;
  info.name = fmt::format("prediction of run {} ({})", f.run, run->record.info.name);
  info.schedule = schedule;
  info.spec = schedule.spec();
  info.cost_model = *cost;
  info.description = run->record.info.description;
  Result<store::RunWriter> writer = db->BeginRun(info);
  if (!writer.ok()) Fail(1, "--db: " + writer.status().message());
  sim::SimulationOptions options;
  options.sink = &*writer;
  Result<sim::SimulationResult> sim = sim::Simulate(schedule, *cost, options);
  if (!sim.ok()) {
    (void)writer->Finish(store::RunStatus::kFailed, sim.status().message());
    (void)db->DeleteRun(writer->run_id());
    Fail(sim.status().code() == Status::Code::kInvalidArgument ? 2 : 1, sim.status().message());
  }
  StorePredictionMetrics(*writer, *sim);
  const int64_t pred = writer->run_id();
  Status st = writer->Finish(store::RunStatus::kComplete);
  if (st.ok()) st = db->LinkPrediction(pred, f.run);
  if (!st.ok()) Fail(1, "--db: " + st.message());

  const store::RunMetrics measured = store::ComputeRunMetrics(*run);
  const double updates = std::max<double>(1.0, static_cast<double>(sim->optimizer_updates));
  const double pred_ms = sim->makespan_ms() / updates;
  const double meas_ms = static_cast<double>(measured.makespan_ns) / 1e6 / updates;
  fmt::print("stored predicted run {} for measured run {} in {}\n", pred, f.run, f.db);
  fmt::print("time per update: predicted {:.2f} ms, measured {:.2f} ms, error {:+.1f}%\n", pred_ms, meas_ms,
             (pred_ms - meas_ms) / meas_ms * 100.0);
}

}  // namespace

void AddPredictCommand(CLI::App& app) {
  auto f = std::make_shared<PredictFlags>();
  CLI::App* cmd = app.add_subcommand("predict", "Fit a cost model to a measured run and simulate it");
  cmd->add_option("--run", f->run, "measured run id")->required();
  cmd->add_option("--db", f->db, "trace store")->capture_default_str();
  cmd->callback([f] { RunPredict(*f); });
}

}  // namespace paci::cli
