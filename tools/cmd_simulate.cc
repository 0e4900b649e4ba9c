// `paci simulate`: play a generated (or loaded) schedule in the discrete-event simulator and print
// its predicted makespan, throughput, bubbles, memory and drift per stage, as a table or JSON.
// The run is stored as a 'predicted' run in the trace store (--db, default paci.db; --no-db skips).
// Exit codes: 0 ok, 2 bad flags or input, 1 a simulation or store failure.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "proto/exit_codes.h"
#include "proto/ir_names.h"
#include "sched/pipeline_spec.h"
#include "sched/schedule_generator.h"
#include "sched/schedule_io.h"
#include "sched/schedule_validator.h"
#include "sim/simulator.h"
#include "sim/staleness_cost.h"
#include "store/trace_store.h"
#include "tools/code_revision.h"
#include "tools/commands.h"
#include "tools/model_flags.h"
#include "tools/sim_flags.h"
#include "tools/simulated_runs.h"
#include "tools/spec_flags.h"
#include "tools/staleness_flags.h"

namespace paci::cli {
namespace {

struct SimulateFlags {
  std::string input;
  SpecFlags spec;
  CostFlags cost;
  ModelFlags model;
  bool json = false, no_db = false, keep_ops = false;
  std::string db = "paci.db", name, staleness;
};

ir::PipelineSpec SpecOrFail(const SimulateFlags& f) {
  Result<ir::PipelineSpec> spec = SpecFromFlags(f.spec);
  if (!spec.ok()) Fail(kExitBadInput, spec.status().message());
  return *spec;
}

ir::Schedule ScheduleFromFlags(const SimulateFlags& f) {
  if (!f.input.empty()) {
    Result<ScheduleReadOptions> options = InputOptionsFromFlags(f.spec);
    if (!options.ok()) Fail(kExitBadInput, options.status().message());
    Result<ir::Schedule> s = ReadScheduleFile(f.input, *options);
    if (!s.ok()) Fail(kExitBadInput, "--input: " + s.status().message());
    if (Status st = ValidateSchedule(*s); !st.ok())
      Fail(kExitBadInput, fmt::format("--input: {}: {}", f.input, st.message()));
    return *s;
  }
  Result<ir::Schedule> s = GenerateSchedule(SpecOrFail(f));
  if (!s.ok()) Fail(kExitBadInput, s.status().message());
  return *s;
}

std::string RunName(const ir::PipelineSpec& s, const Staleness& staleness) {
  const std::string variant = ScheduleVariantText({ScheduleName(s.kind()), staleness});
  std::string out = fmt::format("{} P={}", variant, s.stages());
  if (IsFlushSchedule(s.kind()))
    out += fmt::format(" M={}", s.microbatches_per_iteration());
  else
    out += fmt::format(" K={}", s.accum());
  if (s.chunks() > 1) out += fmt::format(" V={}", s.chunks());
  return out + fmt::format(" N={}", s.total_microbatches());
}

// Simulates into the store: a predicted run with the schedule, cost model and metrics.
int64_t SimulateIntoStore(const SimulateFlags& f, const ir::Schedule& schedule, const ir::CostModel& cost,
                          const Staleness& staleness, sim::SimulationResult* out, bool* replayed) {
  Result<store::TraceStore> db = store::TraceStore::Open(f.db);
  if (!db.ok()) Fail(db.status(), "--db: ");
  store::RunInfo info;
  info.kind = store::RunKind::kPredicted;
  info.name = f.name.empty() ? RunName(schedule.spec(), staleness) : f.name;
  info.schedule = schedule;
  info.spec = schedule.spec();
  info.cost_model = cost;
  info.code_revision = CodeRevision();
  // Long runs keep only what determines them; readers re-simulate their ops (simulated_runs.h).
  Result<store::RunWriter> writer =
      db->BeginRun(info, store::WriterOptions{.replay_above_ops = f.keep_ops ? 0 : store::kReplayAboveOps});
  if (!writer.ok()) Fail(kExitRuntimeError, "--db: " + writer.status().message());
  sim::SimulationOptions options;
  options.sink = &*writer;
  Result<sim::SimulationResult> r = sim::Simulate(schedule, cost, options);
  if (!r.ok()) {
    // A simulation that could not run predicts nothing: leave no run behind.
    (void)writer->Finish(store::RunStatus::kFailed, r.status().message());
    (void)db->DeleteRun(writer->run_id());
    Fail(r.status().code() == Status::Code::kInvalidArgument ? 2 : 1, r.status().message());
  }
  if (Status st = StoreSimulationMetrics(*writer, *r); !st.ok())
    Fail(kExitRuntimeError, "--db: " + st.message());
  if (Status st = writer->Finish(store::RunStatus::kComplete); !st.ok())
    Fail(kExitRuntimeError, "--db: " + st.message());
  *out = *r;
  Result<store::RunRecord> record = db->GetRun(writer->run_id());
  if (!record.ok()) Fail(kExitRuntimeError, "--db: " + record.status().message());
  *replayed = record->op_storage == store::OpStorage::kReplayed;
  return writer->run_id();
}

// The cost model's numbers for stage s (one entry may stand for all stages).
void AddStageCosts(const ir::CostModel& cost, uint32_t s, nlohmann::ordered_json* j) {
  if (cost.stages_size() == 0) return;
  const ir::StageCost& c = cost.stages(cost.stages_size() == 1 ? 0 : static_cast<int>(s));
  (*j)["layers"] = c.layers();
  (*j)["forward_ms"] = c.forward_ns() / 1e6;
  (*j)["backward_input_ms"] = c.backward_input_ns() / 1e6;
  (*j)["backward_weight_ms"] = c.backward_weight_ns() / 1e6;
  (*j)["optimizer_ms"] = c.optimizer_ns() / 1e6;
  (*j)["activation_bytes"] = c.activation_bytes();
  (*j)["weight_bytes"] = c.weight_bytes();
  (*j)["message_bytes"] = c.message_bytes();
}

// What the compensation holds beyond the persistent bytes: one layer's weights, or nothing.
std::string TransientText(const sim::StageMetrics& s) {
  return s.transient_bytes > 0 ? fmt::format("one layer's weights, {:.2f} MiB", s.transient_bytes / 1048576.0)
                               : "none";
}

nlohmann::ordered_json ResultJson(const ir::PipelineSpec& spec, const sim::SimulationResult& r,
                                  int64_t run_id, const ir::CostModel& cost, const Staleness& staleness) {
  nlohmann::ordered_json j = {{"schedule", ScheduleName(spec.kind())},
                              {"staleness", StalenessText(staleness)},
                              {"stages", spec.stages()},
                              {"chunks", spec.chunks()},
                              {"accum", spec.accum()},
                              {"microbatches_per_iteration", spec.microbatches_per_iteration()},
                              {"total_microbatches", spec.total_microbatches()},
                              {"makespan_ms", r.makespan_ms()},
                              {"makespan_ns", r.makespan_ns},
                              {"bubble_fraction", r.bubble_fraction},
                              {"throughput_microbatches_per_s", r.throughput_microbatches_per_s},
                              {"tokens_per_s", r.tokens_per_s},
                              {"optimizer_updates", r.optimizer_updates},
                              {"ops", r.ops},
                              {"per_stage", nlohmann::ordered_json::array()}};
  if (run_id > 0) j["run_id"] = run_id;
  for (const sim::StageMetrics& s : r.stages)
    j["per_stage"].push_back({{"stage", s.stage},
                              {"busy_ms", s.busy_ns / 1e6},
                              {"idle_ms", s.idle_ns / 1e6},
                              {"bubble_fraction", s.bubble_fraction},
                              {"span_bubble_fraction", s.span_bubble_fraction},
                              {"peak_activations", s.peak_activations},
                              {"peak_weight_grads", s.peak_weight_grads},
                              {"peak_memory_bytes", s.peak_memory_bytes},
                              {"transient_bytes", s.transient_bytes},
                              {"weight_versions", s.weight_versions},
                              {"optimizer_steps", s.optimizer_steps},
                              {"max_drift", s.max_drift},
                              {"mean_drift", s.mean_drift},
                              {"gradient_staleness", s.max_gradient_staleness},
                              {"mean_gradient_staleness", s.mean_gradient_staleness},
                              {"extra_weight_buffers", s.extra_weight_buffers},
                              {"drift_histogram", s.drift_histogram},
                              {"send_busy_ms", s.send_busy_ns / 1e6}});
  for (auto& stage : j["per_stage"]) AddStageCosts(cost, stage["stage"].get<uint32_t>(), &stage);
  return j;
}

void PrintTable(const ir::PipelineSpec& spec, const sim::SimulationResult& r, double wall_s, bool stored,
                const Staleness& staleness) {
  fmt::print("{}\n", RunName(spec, staleness));
  fmt::print("makespan {:.6g} ms   throughput {:.6g} micro-batches/s{}   bubble {:.4f}   updates {}\n",
             r.makespan_ms(), r.throughput_microbatches_per_s,
             r.tokens_per_s > 0 ? fmt::format(" ({:.6g} tokens/s)", r.tokens_per_s) : "", r.bubble_fraction,
             r.optimizer_updates);
  fmt::print("{:>5} {:>11} {:>11} {:>7} {:>7} {:>8} {:>12} {:>8} {:>9} {:>10}  {}\n", "stage", "busy_ms",
             "idle_ms", "bubble", "span_b", "peak_act", "peak_mem_MiB", "versions", "max_drift", "mean_drift",
             "drift histogram (d:count)");
  for (const sim::StageMetrics& s : r.stages) {
    std::string hist;
    for (size_t d = 0; d < s.drift_histogram.size(); ++d)
      if (s.drift_histogram[d])
        hist += fmt::format("{}{}:{}", hist.empty() ? "" : " ", d, s.drift_histogram[d]);
    fmt::print("{:>5} {:>11.6g} {:>11.6g} {:>7.4f} {:>7.4f} {:>8} {:>12.1f} {:>8} {:>9} {:>10.4f}  {}\n",
               s.stage, s.busy_ns / 1e6, s.idle_ns / 1e6, s.bubble_fraction, s.span_bubble_fraction,
               s.peak_activations, s.peak_memory_bytes / 1048576.0, s.weight_versions, s.max_drift,
               s.mean_drift, hist);
  }
  if (staleness.on())
    for (const sim::StageMetrics& s : r.stages)
      fmt::print("stage {} {}: transient {} (in peak_mem; persistent bytes unchanged)\n", s.stage,
                 StalenessText(staleness), TransientText(s));
  fmt::print("simulated {} ops in {:.3f} s ({:.3g} M ops/s{})\n", r.ops, wall_s,
             wall_s > 0 ? r.ops / wall_s / 1e6 : 0.0, stored ? ", trace store writes included" : "");
}

// The costs the model gave each stage (its layer split, op times and bytes).
void PrintStageCosts(const ir::CostModel& cost) {
  fmt::print("{:>5} {:>6} {:>11} {:>11} {:>11} {:>11} {:>12} {:>12} {:>11}\n", "stage", "layers",
             "forward_ms", "bwd_in_ms", "bwd_w_ms", "opt_ms", "act_MiB", "weights_MiB", "msg_MiB");
  for (int s = 0; s < cost.stages_size(); ++s) {
    const ir::StageCost& c = cost.stages(s);
    fmt::print("{:>5} {:>6} {:>11.4g} {:>11.4g} {:>11.4g} {:>11.4g} {:>12.1f} {:>12.1f} {:>11.2f}\n", s,
               c.layers(), c.forward_ns() / 1e6, c.backward_input_ns() / 1e6, c.backward_weight_ns() / 1e6,
               c.optimizer_ns() / 1e6, c.activation_bytes() / 1048576.0, c.weight_bytes() / 1048576.0,
               c.message_bytes() / 1048576.0);
  }
}

void Run(const SimulateFlags& f) {
  if (f.no_db && f.keep_ops) Fail(kExitBadInput, "--keep-ops: does not apply with --no-db");
  const ir::Schedule schedule = ScheduleFromFlags(f);
  Result<Staleness> staleness = StalenessFromFlag(f.staleness, schedule);
  if (!staleness.ok()) Fail(kExitBadInput, staleness.status().message());
  Result<ir::CostModel> cost = CostFromFlags(f.cost);
  if (!cost.ok()) Fail(kExitBadInput, cost.status().message());
  std::vector<uint64_t> layers;  // known with a model: each stage's largest estimated layer
  if (ModelFlagsGiven(f.model)) {
    // The model on its hardware (or profile) gives the costs; the partitioner picks the split.
    Result<sim::ModelCostSetup> setup = ModelSetupFromFlags(f.model, &f.cost);
    if (!setup.ok()) Fail(kExitBadInput, setup.status().message());
    const ir::Jitter jitter = cost->jitter();
    Result<std::vector<sim::LayerSlice>> slices = sim::SlicesForSpec(*setup, schedule.spec());
    if (!slices.ok()) Fail(kExitBadInput, slices.status().message());
    cost = sim::CostModelForSlices(*setup, *slices, schedule.spec());
    *cost->mutable_jitter() = jitter;
    layers = sim::LargestEstimatedLayer(setup->layers, *slices, schedule.spec().stages(), staleness->kind);
  }
  if (!cost.ok()) Fail(kExitBadInput, cost.status().message());
  if (staleness->on()) cost = sim::ApplyStalenessCost(*cost, *staleness, schedule, "--staleness", layers);
  if (!cost.ok()) Fail(kExitBadInput, cost.status().message());
  const auto t0 = std::chrono::steady_clock::now();
  sim::SimulationResult r;
  int64_t run_id = 0;
  bool replayed = false;
  if (f.no_db) {
    Result<sim::SimulationResult> res = sim::Simulate(schedule, *cost);
    if (!res.ok())
      Fail(res.status().code() == Status::Code::kInvalidArgument ? 2 : 1, res.status().message());
    r = *res;
  } else {
    run_id = SimulateIntoStore(f, schedule, *cost, *staleness, &r, &replayed);
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (f.json) {
    fmt::print("{}\n", ResultJson(schedule.spec(), r, run_id, *cost, *staleness).dump(2));
    return;
  }
  if (ModelFlagsGiven(f.model)) PrintStageCosts(*cost);
  PrintTable(schedule.spec(), r, wall, run_id > 0, *staleness);
  if (run_id > 0) {
    fmt::print("stored as predicted run {} in {}{}\n", run_id, f.db,
               replayed ? " (by its IR and cost model; ops are re-simulated when read)" : "");
  }
}

}  // namespace

void AddSimulateCommand(CLI::App& app) {
  auto flags = std::make_shared<SimulateFlags>();
  CLI::App* cmd = app.add_subcommand("simulate", "Predict a schedule's timeline, bubbles, memory and drift");
  AddSpecFlags(cmd, &flags->spec);
  cmd->add_option("--input", flags->input, "simulate a schedule file (.txt, .csv, .json, .pb) instead");
  AddCostFlags(cmd, flags->cost);
  AddModelFlags(cmd, &flags->model);
  AddStalenessOption(cmd, &flags->staleness);
  cmd->add_flag("--json", flags->json, "print JSON instead of a table");
  cmd->add_option("--db", flags->db, "trace store that receives the predicted run")->capture_default_str();
  cmd->add_flag("--no-db", flags->no_db, "do not store the run");
  cmd->add_flag("--keep-ops", flags->keep_ops,
                "store every op row even for a run of more than 100,000 ops (about 80 bytes each), "
                "instead of re-simulating it when read");
  cmd->add_option("--name", flags->name, "name of the stored run (default: schedule and spec)");
  cmd->callback([flags] { Run(*flags); });
}

}  // namespace paci::cli
