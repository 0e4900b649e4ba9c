// `paci predict`: simulates a run's schedule IR with a cost model and stores the prediction, linked
// to the measured run. Where the costs come from:
//   --run R                      fitted to run R's own op times (a replay, sim/cost_model_fit.h)
//   --run R --profile FILE       a per-layer profile (`paci profile`), summed over R's layer split
//   --run R --cost FILE          a cost model file (sim/cost_model_file.h)
//   --run R --from-run R2        fitted to another measured run R2 with as many stages
//   --schedule ... --profile F   a run that does not exist yet, split as `paci train` will split it
// With --colocate the profile's co-location factors slow ops while stages share the cores.
// Prints predicted against measured makespan, time per update, tokens/s, bubble and memory.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "exec/runtime/layer_partition.h"
#include "proto/exit_codes.h"
#include "sched/pipeline_spec.h"
#include "sched/schedule_generator.h"
#include "sched/schedule_validator.h"
#include "sim/cost_model_file.h"
#include "sim/cost_model_fit.h"
#include "sim/model_cost.h"
#include "sim/profile_file.h"
#include "sim/simulator.h"
#include "sim/staleness_cost.h"
#include "store/run_metrics.h"
#include "store/trace_store.h"
#include "tools/commands.h"
#include "tools/model_flags.h"
#include "tools/simulated_runs.h"
#include "tools/spec_flags.h"
#include "tools/staleness_flags.h"

namespace paci::cli {
namespace {

struct PredictFlags {
  std::string db = "paci.db";
  int64_t run = 0, from_run = 0;
  std::string cost_file, name, staleness;
  SpecFlags spec;
  bool json = false;
  ModelFlags model;  // --profile, --colocate, --link (--model and --hardware are refused here)
  CLI::Option* run_opt = nullptr;
};

// The sizes stored with the measured run, with each stage's measured activation bytes.
ir::CostModel BaseCost(const store::RunData& run) {
  ir::CostModel base = run.record.info.cost_model.value_or(ir::CostModel());
  for (int s = 0; s < base.stages_size(); ++s) {
    auto it = run.metrics.find(store::metric::PerStageKey(store::metric::kActivationBytes, s));
    if (it != run.metrics.end())
      base.mutable_stages(s)->set_activation_bytes(static_cast<uint64_t>(it->second));
  }
  return base;
}

store::RunData LoadMeasured(store::TraceStore& db, int64_t id, const char* flag) {
  Result<store::RunData> run = db.LoadRun(id);
  if (!run.ok()) Fail(kExitBadInput, std::string(flag) + ": " + run.status().message());
  if (run->record.info.kind != store::RunKind::kMeasured)
    Fail(kExitBadInput, fmt::format("{}: run {} is not a measured run", flag, id));
  // A failed, killed or unfinished run's ops stop part-way: a prediction fitted to them or
  // compared with them looks like a result and is not one (issue 25).
  if (run->record.status != store::RunStatus::kComplete)
    Fail(kExitBadInput, fmt::format("{}: run {} is {}{}; predict needs a complete run", flag, id,
                                    store::RunStatusName(run->record.status),
                                    run->record.message.empty() ? "" : " (" + run->record.message + ")"));
  if (!run->record.info.schedule)
    Fail(kExitBadInput, fmt::format("{}: run {} has no schedule IR stored", flag, id));
  // The store holds whatever was written or imported: check the IR before the simulator plays it.
  NormalizeChunks(&*run->record.info.schedule);  // an old store's chunks 0, as on reading a file
  if (Status st = ValidateSchedule(*run->record.info.schedule); !st.ok())
    Fail(kExitBadInput, fmt::format("{}: run {}: stored schedule: {}", flag, id, st.message()));
  return *std::move(run);
}

// Costs fitted to `source` apply to `run` only when both trained the same model in the same
// micro-batches (issue 25: another model's costs were used without a word).
void CheckSameModel(const store::RunData& source, const store::RunData& run) {
  const std::optional<ir::RunSetup>&a = source.record.info.setup, &b = run.record.info.setup;
  if (!a || !b) return;  // an imported run carries no record: the stage count was checked
  const std::string x =
      a->model().ShortDebugString() + " microbatch_size: " + std::to_string(a->microbatch_size());
  const std::string y =
      b->model().ShortDebugString() + " microbatch_size: " + std::to_string(b->microbatch_size());
  if (x != y)
    Fail(kExitBadInput,
         fmt::format("--from-run: run {} trained {{{}}}, run {} trained {{{}}}: its fitted costs do "
                     "not apply; fit to a run of the same model",
                     source.record.id, x, run.record.id, y));
}

// The model config `paci train` recorded in the run's record (ir::RunSetup).
exec::GPTConfig RunModel(const store::RunData& run, int* microbatch, std::string* partition) {
  const std::optional<ir::RunSetup>& setup = run.record.info.setup;
  if (!setup || !setup->has_model() || setup->microbatch_size() == 0)
    Fail(kExitBadInput,
         fmt::format("--run: run {} records no model configuration (not made by `paci train --schedule`)",
                     run.record.id));
  exec::GPTConfig cfg;
  const ir::ModelShape& m = setup->model();
  cfg.n_layer = static_cast<int>(m.layers());
  cfg.n_embd = static_cast<int>(m.dim());
  cfg.n_head = static_cast<int>(m.heads());
  cfg.block_size = static_cast<int>(m.seq());
  cfg.vocab_size = static_cast<int>(m.vocab());
  cfg.tie = m.tie();
  *microbatch = static_cast<int>(setup->microbatch_size());
  // `paci train` records the split it used as [first, last) per slice; cuts are the firsts after the first.
  partition->clear();
  for (int i = 1; i < setup->partition_size(); ++i)
    *partition += (i > 1 ? "," : "") + std::to_string(setup->partition(i).first());
  return cfg;
}

ir::ModelShape ShapeOf(const exec::GPTConfig& c) {
  ir::ModelShape m;
  m.set_layers(static_cast<uint32_t>(c.n_layer));
  m.set_dim(static_cast<uint32_t>(c.n_embd));
  m.set_heads(static_cast<uint32_t>(c.n_head));
  m.set_seq(static_cast<uint32_t>(c.block_size));
  m.set_vocab(static_cast<uint32_t>(c.vocab_size));
  m.set_tie(c.tie);
  return m;
}

// The layer split `paci train` uses for this schedule (exec/layer_partition.h).
std::vector<sim::LayerSlice> TrainSplit(const exec::GPTConfig& cfg, const ir::PipelineSpec& spec,
                                        const std::string& cuts) {
  const int parts = static_cast<int>(spec.stages() * spec.chunks());
  Result<std::vector<exec::LayerRange>> r =
      cuts.empty() ? exec::partition_balanced(cfg, parts) : exec::partition_from_cuts(cfg, parts, cuts);
  if (!r.ok()) Fail(kExitBadInput, r.status().message());
  std::vector<sim::LayerSlice> out;
  for (const exec::LayerRange& l : *r) out.push_back({l.first, l.last});
  return out;
}

// The profile's costs summed over the split `paci train` uses (or used) for this model.
// `largest` (may be null) receives each stage's largest estimated layer (sim/staleness_cost.h).
ir::CostModel CostFromProfile(const PredictFlags& f, const exec::GPTConfig& cfg, uint32_t microbatch,
                              const ir::PipelineSpec& spec, const std::string& cuts,
                              std::vector<uint64_t>* largest = nullptr,
                              StalenessKind kind = StalenessKind::kRewind) {
  Result<sim::ModelCostSetup> setup = ModelSetupFromFlags(f.model, nullptr);
  if (!setup.ok()) Fail(kExitBadInput, setup.status().message());
  const Status match =
      sim::CheckProfileMatches(setup->profile, ShapeOf(cfg), microbatch, "--profile: " + f.model.profile);
  if (!match.ok()) Fail(kExitBadInput, match.message());
  const std::vector<sim::LayerSlice> slices = TrainSplit(cfg, spec, cuts);
  if (largest) *largest = sim::LargestEstimatedLayer(setup->layers, slices, spec.stages(), kind);
  return sim::CostModelForSlices(*setup, slices, spec);
}

// Costs for measured run `run` from the chosen source.
ir::CostModel CostForRun(const PredictFlags& f, store::TraceStore& db, const store::RunData& run) {
  const ir::Schedule& schedule = *run.record.info.schedule;
  if (!f.model.profile.empty()) {
    int microbatch = 0;
    std::string cuts;
    const exec::GPTConfig cfg = RunModel(run, &microbatch, &cuts);
    ir::CostModel cost = CostFromProfile(f, cfg, static_cast<uint32_t>(microbatch), schedule.spec(), cuts);
    cost.set_tokens_per_microbatch(BaseCost(run).tokens_per_microbatch());
    return cost;
  }
  if (!f.cost_file.empty()) {
    Result<ir::CostModel> cost = sim::LoadCostModelFile(f.cost_file);
    if (!cost.ok()) Fail(kExitBadInput, "--cost: " + cost.status().message());
    if (cost->tokens_per_microbatch() == 0)
      cost->set_tokens_per_microbatch(BaseCost(run).tokens_per_microbatch());
    return *cost;
  }
  const bool other = f.from_run > 0;
  const store::RunData source = other ? LoadMeasured(db, f.from_run, "--from-run") : store::RunData();
  const store::RunData& fit_to = other ? source : run;
  const ir::Schedule& fit_schedule = *fit_to.record.info.schedule;
  if (fit_schedule.spec().stages() != schedule.spec().stages())
    Fail(kExitBadInput, fmt::format("--from-run: run {} has {} stages, run {} has {}", f.from_run,
                                    fit_schedule.spec().stages(), run.record.id, schedule.spec().stages()));
  if (other) CheckSameModel(source, run);
  Result<ir::CostModel> fitted = sim::FitCostModel(fit_schedule, fit_to.ops, BaseCost(run));
  if (!fitted.ok()) Fail(kExitBadInput, (other ? "--from-run: " : "--run: ") + fitted.status().message());
  return *fitted;
}

struct Summary {
  double makespan_ms = 0, per_update_ms = 0, tokens_per_s = 0, bubble = 0;
  std::vector<uint64_t> peak_bytes;
  std::vector<double> stage_bubble;
};

nlohmann::ordered_json SummaryJson(const Summary& s) {
  return {{"makespan_ms", s.makespan_ms},
          {"time_per_update_ms", s.per_update_ms},
          {"tokens_per_s", s.tokens_per_s},
          {"bubble_fraction", s.bubble},
          {"stage_bubble_fraction", s.stage_bubble},
          {"peak_memory_bytes", s.peak_bytes}};
}

Summary Predicted(const sim::SimulationResult& r) {
  Summary s;
  s.makespan_ms = r.makespan_ms();
  s.per_update_ms = s.makespan_ms / std::max<double>(1.0, static_cast<double>(r.optimizer_updates));
  s.tokens_per_s = r.tokens_per_s;
  s.bubble = r.bubble_fraction;
  for (const sim::StageMetrics& m : r.stages) {
    s.peak_bytes.push_back(m.peak_memory_bytes);
    s.stage_bubble.push_back(m.bubble_fraction);
  }
  return s;
}

Summary Measured(const store::RunData& run, uint64_t updates) {
  const store::RunMetrics m = store::ComputeRunMetrics(run);
  Summary s;
  s.makespan_ms = static_cast<double>(m.makespan_ns) / 1e6;
  s.per_update_ms = s.makespan_ms / std::max<double>(1.0, static_cast<double>(updates));
  auto tps = run.metrics.find("tokens_per_s");
  s.tokens_per_s = tps != run.metrics.end() ? tps->second : 0;
  s.bubble = m.bubble_fraction;
  for (size_t st = 0; st < m.stages.size(); ++st) {
    auto it = run.metrics.find(
        store::metric::PerStageKey(store::metric::kPeakMemoryBytes, static_cast<uint32_t>(st)));
    s.peak_bytes.push_back(it != run.metrics.end() ? static_cast<uint64_t>(it->second)
                                                   : m.stages[st].peak_live_bytes);
    s.stage_bubble.push_back(m.stages[st].bubble_fraction);
  }
  return s;
}

// Simulates into the store as a predicted run; returns its id.
int64_t StorePrediction(store::TraceStore& db, const ir::Schedule& schedule, const ir::CostModel& cost,
                        const std::string& name, const std::string& description, sim::SimulationResult* out) {
  store::RunInfo info;
  info.kind = store::RunKind::kPredicted;
  info.name = name;
  info.schedule = schedule;
  info.spec = schedule.spec();
  info.cost_model = cost;
  info.description = description;
  Result<store::RunWriter> writer = db.BeginRun(info);
  if (!writer.ok()) Fail(kExitRuntimeError, "--db: " + writer.status().message());
  sim::SimulationOptions options;
  options.sink = &*writer;
  Result<sim::SimulationResult> sim = sim::Simulate(schedule, cost, options);
  if (!sim.ok()) {
    (void)writer->Finish(store::RunStatus::kFailed, sim.status().message());
    (void)db.DeleteRun(writer->run_id());
    Fail(sim.status().code() == Status::Code::kInvalidArgument ? 2 : 1, sim.status().message());
  }
  Status st = StoreSimulationMetrics(*writer, *sim);
  if (st.ok()) st = writer->Finish(store::RunStatus::kComplete);
  if (!st.ok()) Fail(kExitRuntimeError, "--db: " + st.message());
  *out = *sim;
  return writer->run_id();
}

std::string Pct(double pred, double meas) {
  const double pct = store::PredictionErrorPct(pred, meas);
  return std::isfinite(pct) && meas > 0 ? fmt::format("{:+.1f}%", pct) : "-";
}

void PrintSummary(const Summary& p, const std::optional<Summary>& m) {
  auto row = [&](const char* what, double pv, std::optional<double> mv, const char* fmt_) {
    fmt::print("  {:<18} {:>12}", what, fmt::format(fmt::runtime(fmt_), pv));
    if (mv) fmt::print(" {:>12} {:>8}", fmt::format(fmt::runtime(fmt_), *mv), Pct(pv, *mv));
    fmt::print("\n");
  };
  fmt::print("  {:<18} {:>12}{}\n", "", "predicted",
             m ? fmt::format(" {:>12} {:>8}", "measured", "error") : "");
  row("makespan_ms", p.makespan_ms, m ? std::optional(m->makespan_ms) : std::nullopt, "{:.1f}");
  row("time/update_ms", p.per_update_ms, m ? std::optional(m->per_update_ms) : std::nullopt, "{:.2f}");
  row("tokens/s", p.tokens_per_s, m ? std::optional(m->tokens_per_s) : std::nullopt, "{:.0f}");
  row("bubble", p.bubble, m ? std::optional(m->bubble) : std::nullopt, "{:.4f}");
  for (size_t s = 0; s < p.peak_bytes.size(); ++s) {
    const std::string what = fmt::format("peak_MiB stage {}", s);
    std::optional<double> mv;
    if (m && s < m->peak_bytes.size()) mv = m->peak_bytes[s] / 1048576.0;
    row(what.c_str(), p.peak_bytes[s] / 1048576.0, mv, "{:.2f}");
  }
}

void CheckSources(const PredictFlags& f) {
  const int sources = (!f.model.profile.empty()) + (!f.cost_file.empty()) + (f.from_run > 0);
  if (sources > 1) Fail(kExitBadInput, "--profile, --cost and --from-run: give at most one");
  for (const auto& [name, opt] : f.model.given)
    if (opt->count() > 0 && name != "--profile" && name != "--colocate" && name != "--link")
      Fail(kExitBadInput, name + ": does not apply to predict (use --profile, --cost or --from-run)");
  if (f.model.colocate && f.model.profile.empty()) Fail(kExitBadInput, "--colocate: needs --profile");
  if (!f.model.link.empty() && f.model.profile.empty()) Fail(kExitBadInput, "--link: needs --profile");
}

// `paci predict --schedule ... --profile FILE`: a run before it exists.
void PredictBeforeRun(const PredictFlags& f) {
  if (f.model.profile.empty() && f.cost_file.empty())
    Fail(kExitBadInput, "--schedule: needs --profile or --cost");
  if (f.from_run > 0) Fail(kExitBadInput, "--from-run: needs --run, not --schedule");
  Result<ir::PipelineSpec> spec = SpecFromFlags(f.spec);
  if (!spec.ok()) Fail(kExitBadInput, spec.status().message());
  Result<ir::Schedule> schedule = GenerateSchedule(*spec);
  if (!schedule.ok()) Fail(kExitBadInput, schedule.status().message());
  Result<Staleness> staleness = StalenessFromFlag(f.staleness, *schedule);
  if (!staleness.ok()) Fail(kExitBadInput, staleness.status().message());
  ir::CostModel cost;
  std::vector<uint64_t> largest;
  if (!f.model.profile.empty()) {
    Result<ir::Profile> p = sim::LoadProfileFile(f.model.profile);
    if (!p.ok()) Fail(kExitBadInput, "--profile: " + p.status().message());
    exec::GPTConfig cfg;
    cfg.n_layer = static_cast<int>(p->model().layers());
    cfg.n_embd = static_cast<int>(p->model().dim());
    cfg.n_head = static_cast<int>(p->model().heads());
    cfg.block_size = static_cast<int>(p->model().seq());
    cfg.vocab_size = static_cast<int>(p->model().vocab());
    cfg.tie = p->model().tie();
    cost = CostFromProfile(f, cfg, p->microbatch_size(), *spec, "", &largest, staleness->kind);
  } else {
    Result<ir::CostModel> c = sim::LoadCostModelFile(f.cost_file);
    if (!c.ok()) Fail(kExitBadInput, "--cost: " + c.status().message());
    cost = *c;
  }
  if (staleness->on()) {
    Result<ir::CostModel> c = sim::ApplyStalenessCost(cost, *staleness, *schedule, "--staleness", largest);
    if (!c.ok()) Fail(kExitBadInput, c.status().message());
    cost = *c;
  }
  Result<store::TraceStore> db = store::TraceStore::Open(f.db);
  if (!db.ok()) Fail(kExitBadInput, "--db: " + db.status().message());
  sim::SimulationResult r;
  const std::string name = !f.name.empty() ? f.name
                                           : fmt::format("prediction before running {}",
                                                         ScheduleVariantText({f.spec.schedule, *staleness}));
  const int64_t pred = StorePrediction(*db, *schedule, cost, name, "", &r);
  if (f.json) {
    fmt::print(
        "{}\n",
        nlohmann::ordered_json{{"predicted_run", pred}, {"predicted", SummaryJson(Predicted(r))}}.dump(2));
    return;
  }
  fmt::print("stored predicted run {} in {} ({})\n", pred, f.db,
             f.model.colocate ? "co-located" : "stages alone");
  PrintSummary(Predicted(r), std::nullopt);
}

void RunPredict(const PredictFlags& f) {
  CheckSources(f);
  if (!f.spec.schedule.empty()) {
    if (f.run_opt->count() > 0)
      Fail(kExitBadInput, "--schedule: does not apply with --run (the run has its schedule)");
    PredictBeforeRun(f);
    return;
  }
  if (!f.staleness.empty())
    Fail(kExitBadInput,
         "--staleness: does not apply with --run (the run trained with its own; give --schedule)");
  if (f.run <= 0)
    Fail(kExitBadInput, "--run: required (or --schedule with --profile to predict before running)");
  Result<store::TraceStore> db = OpenExistingStore(f.db);
  if (!db.ok()) Fail(kExitBadInput, "--db: " + db.status().message());
  const store::RunData run = LoadMeasured(*db, f.run, "--run");
  const ir::Schedule& schedule = *run.record.info.schedule;
  const ir::CostModel cost = CostForRun(f, *db, run);
  const std::string source = !f.model.profile.empty()
                                 ? "profile " + f.model.profile + (f.model.colocate ? " (co-located)" : "")
                             : !f.cost_file.empty() ? "cost file " + f.cost_file
                             : f.from_run > 0       ? fmt::format("run {}", f.from_run)
                                                    : std::string("its own op times");
  const std::string name =
      !f.name.empty() ? f.name
                      : fmt::format("prediction of run {} ({}) from {}", f.run, run.record.info.name, source);
  sim::SimulationResult r;
  const int64_t pred = StorePrediction(*db, schedule, cost, name, run.record.info.description, &r);
  if (Status st = db->LinkPrediction(pred, f.run); !st.ok()) Fail(kExitRuntimeError, "--db: " + st.message());
  if (f.json) {
    fmt::print("{}\n", nlohmann::ordered_json{{"predicted_run", pred},
                                              {"measured_run", f.run},
                                              {"predicted", SummaryJson(Predicted(r))},
                                              {"measured", SummaryJson(Measured(run, r.optimizer_updates))}}
                           .dump(2));
    return;
  }
  fmt::print("stored predicted run {} for measured run {} in {} (costs from {})\n", pred, f.run, f.db,
             source);
  PrintSummary(Predicted(r), Measured(run, r.optimizer_updates));
  const Summary p = Predicted(r), m = Measured(run, r.optimizer_updates);
  fmt::print("time per update: predicted {:.2f} ms, measured {:.2f} ms, error {}\n", p.per_update_ms,
             m.per_update_ms, Pct(p.per_update_ms, m.per_update_ms));
}

}  // namespace

void AddPredictCommand(CLI::App& app) {
  auto f = std::make_shared<PredictFlags>();
  CLI::App* cmd =
      app.add_subcommand("predict", "Predict a measured run (or one before it runs) with the simulator");
  f->run_opt = cmd->add_option("--run", f->run, "measured run id to predict");
  cmd->add_option("--cost", f->cost_file, "take the costs from a cost model file");
  cmd->add_option("--from-run", f->from_run, "take the costs fitted to another measured run")
      ->check(AtLeastOne());  // 0 means "not given": -1 and 0 typed were silently ignored
  cmd->add_option("--db", f->db, "trace store")->capture_default_str();
  cmd->add_option("--name", f->name, "name of the stored prediction");
  cmd->add_flag("--json", f->json, "print predicted (and measured) numbers as JSON");
  AddSpecFlags(cmd, &f->spec);
  AddStalenessOption(cmd, &f->staleness);
  AddModelFlags(cmd, &f->model, /*with_shape=*/false);
  cmd->callback([f] { RunPredict(*f); });
}

}  // namespace paci::cli
