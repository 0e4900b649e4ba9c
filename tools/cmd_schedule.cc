// `paci schedule`: generate a schedule (or load one with --input), validate it, and print it as
// text, a unit-time grid, JSON, PyTorch CSV or binary protobuf, or print its weight-version analysis.
// Exit codes: 0 ok, 2 bad flags, unknown names, impossible combinations or an invalid input file,
// 1 anything else (an I/O failure, a generated schedule the validator rejects).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "proto/exit_codes.h"
#include "proto/ir_names.h"
#include "sched/comm_lowering.h"
#include "sched/pipeline_spec.h"
#include "sched/schedule_generator.h"
#include "sched/schedule_grid.h"
#include "sched/schedule_io.h"
#include "sched/schedule_text.h"
#include "sched/schedule_validator.h"
#include "sched/staleness.h"
#include "sched/weight_version_analysis.h"
#include "sim/staleness_cost.h"
#include "tools/commands.h"
#include "tools/spec_flags.h"
#include "tools/staleness_flags.h"

namespace paci::cli {
namespace {

struct ScheduleFlags {
  SpecFlags spec;
  std::string format = "text";
  std::string csv_format = "compute_only";
  bool analyze = false, per_microbatch = false, compact = false, no_comms = false, add_comms = false;
  std::string output, input, staleness;
};

ir::PipelineSpec SpecOrFail(const ScheduleFlags& f) {
  Result<ir::PipelineSpec> spec = SpecFromFlags(f.spec);
  if (!spec.ok()) Fail(kExitBadInput, spec.status().message());
  return *spec;
}

ir::Schedule LoadOrFail(const ScheduleFlags& f) {
  Result<ScheduleReadOptions> options = InputOptionsFromFlags(f.spec);
  if (!options.ok()) Fail(kExitBadInput, options.status().message());
  Result<ir::Schedule> schedule = ReadScheduleFile(f.input, *options);
  if (!schedule.ok()) Fail(schedule.status());
  if (Status st = ValidateSchedule(*schedule); !st.ok())
    Fail(kExitBadInput, fmt::format("{}: {}", f.input, st.message()));
  return f.add_comms ? WithCommOps(*schedule) : *schedule;
}

ir::Schedule GenerateOrFail(const ScheduleFlags& f) {
  Result<ir::Schedule> schedule = GenerateSchedule(SpecOrFail(f));
  if (!schedule.ok()) Fail(kExitBadInput, schedule.status().message());
  if (Status st = ValidateSchedule(*schedule); !st.ok())
    Fail(kExitRuntimeError, "generated schedule failed validation (a generator bug): " + st.message());
  return f.add_comms ? WithCommOps(*schedule) : *schedule;
}

nlohmann::json StageJson(const StageVersionStats& s) {
  nlohmann::json j = {{"stage", s.stage},
                      {"policy", WeightPolicyName(s.policy)},
                      {"max_drift", s.max_drift},
                      {"mean_drift", s.mean_drift},
                      {"gradient_staleness", s.max_gradient_staleness},
                      {"mean_gradient_staleness", s.mean_gradient_staleness},
                      {"histogram", s.histogram},
                      {"weight_versions", s.weight_versions},
                      {"peak_inflight", s.peak_inflight},
                      {"peak_pending_weight_grads", s.peak_pending_weight_grads},
                      {"optimizer_steps", s.optimizer_steps},
                      {"backwards", s.backwards}};
  if (s.drift_bound >= 0) j["drift_bound"] = s.drift_bound;
  return j;
}

std::string AnalysisJson(const ir::Schedule& schedule, const WeightVersionReport& report,
                         const std::vector<MicroBatchVersions>& records, bool per_microbatch) {
  const ir::PipelineSpec& spec = schedule.spec();
  nlohmann::json j = {{"schedule", ScheduleName(spec.kind())},
                      {"stages", spec.stages()},
                      {"chunks", spec.chunks()},
                      {"accum", spec.accum()},
                      {"microbatches_per_iteration", spec.microbatches_per_iteration()},
                      {"total_microbatches", spec.total_microbatches()},
                      {"per_stage", nlohmann::json::array()}};
  for (const StageVersionStats& s : report.stages) j["per_stage"].push_back(StageJson(s));
  if (per_microbatch) {
    j["micro_batches"] = nlohmann::json::array();
    for (const MicroBatchVersions& r : records)
      j["micro_batches"].push_back({{"stage", r.stage},
                                    {"chunk", r.chunk},
                                    {"micro_batch", r.micro_batch},
                                    {"forward_version", r.forward_version},
                                    {"backward_version", r.backward_version},
                                    {"drift", r.drift}});
  }
  return j.dump(2) + "\n";
}

std::string AnalysisTable(const ir::Schedule& schedule, const WeightVersionReport& report) {
  const ir::PipelineSpec& spec = schedule.spec();
  std::string out =
      fmt::format("{}: P={} V={} K={} M={} N={}\n", ScheduleName(spec.kind()), spec.stages(), spec.chunks(),
                  spec.accum(), spec.microbatches_per_iteration(), spec.total_microbatches());
  out += fmt::format("{:>5} {:>18} {:>9} {:>6} {:>10} {:>10} {:>8} {:>8} {:>6}  {}\n", "stage", "policy",
                     "max_drift", "bound", "mean_drift", "grad_stale", "versions", "inflight", "steps",
                     "histogram (drift:count)");
  for (const StageVersionStats& s : report.stages) {
    std::string hist;
    for (size_t d = 0; d < s.histogram.size(); ++d)
      if (s.histogram[d]) hist += fmt::format("{}{}:{}", hist.empty() ? "" : " ", d, s.histogram[d]);
    out += fmt::format("{:>5} {:>18} {:>9} {:>6} {:>10.4f} {:>10} {:>8} {:>8} {:>6}  {}\n", s.stage,
                       WeightPolicyName(s.policy), s.max_drift,
                       s.drift_bound >= 0 ? std::to_string(s.drift_bound) : "-", s.mean_drift,
                       s.max_gradient_staleness, s.weight_versions, s.peak_inflight, s.optimizer_steps, hist);
  }
  return out;
}

std::string EstimatedOp(const Staleness& s) {
  if (!CostOf(s.kind).layer_estimate) return "none";
  return s.kind == StalenessKind::kPredict ? "forwards" : "backwards";
}

std::string CompensationTable(const Staleness& s, const WeightVersionReport& report) {
  std::string out = fmt::format(
      "compensation {}: {} that need the weight estimate (drift > 0), extra floats read and written per "
      "parameter over the run (optimizer step: 7), memory held while an op runs; persistent bytes "
      "unchanged\n",
      StalenessText(s), EstimatedOp(s));
  out += fmt::format("{:>5} {:>10} {:>8} {:>18}  {}\n", "stage", "estimates", "of", "extra_floats/param",
                     "transient");
  for (const sim::StageCompensation& c : sim::CompensationPerStage(s, report))
    out += fmt::format("{:>5} {:>10} {:>8} {:>18.6g}  {}\n", c.stage, c.estimates, c.ops,
                       c.extra_floats_per_param, c.transient ? "one layer's weights" : "none");
  return out;
}

nlohmann::json CompensationJson(const Staleness& s, const WeightVersionReport& report) {
  nlohmann::json j = {{"compensation", StalenessText(s)},
                      {"estimated_ops", EstimatedOp(s)},
                      {"persistent_bytes", "unchanged"},
                      {"per_stage", nlohmann::json::array()}};
  for (const sim::StageCompensation& c : sim::CompensationPerStage(s, report))
    j["per_stage"].push_back({{"stage", c.stage},
                              {"estimates", c.estimates},
                              {"ops", c.ops},
                              {"extra_floats_per_param", c.extra_floats_per_param},
                              {"transient", c.transient ? "one layer's weights" : "none"}});
  return j;
}

std::string Analyze(const ir::Schedule& schedule, const ScheduleFlags& f) {
  std::vector<MicroBatchVersions> records;
  VersionVisitor visit;
  if (f.per_microbatch) visit = [&](const MicroBatchVersions& r) { records.push_back(r); };
  Result<WeightVersionReport> report = AnalyzeWeightVersions(schedule, visit);
  if (!report.ok()) Fail(kExitRuntimeError, report.status().message());
  Result<Staleness> s = StalenessFromFlag(f.staleness, schedule);
  if (!s.ok()) Fail(kExitBadInput, s.status().message());
  if (f.format == "json") {
    std::string out = AnalysisJson(schedule, *report, records, f.per_microbatch);
    if (!s->on()) return out;
    nlohmann::json j = nlohmann::json::parse(out);
    j["staleness"] = CompensationJson(*s, *report);
    return j.dump(2) + "\n";
  }
  return AnalysisTable(schedule, *report) + (s->on() ? CompensationTable(*s, *report) : "");
}

std::string Render(const ir::Schedule& schedule, const ScheduleFlags& f) {
  if (f.analyze) return Analyze(schedule, f);
  if (f.format == "grid") {
    Result<std::string> grid = FormatScheduleGrid(schedule);
    if (!grid.ok()) Fail(kExitRuntimeError, grid.status().message());
    return *grid;
  }
  if (f.format == "text") return FormatScheduleText(schedule, TextOptions{f.compact, !f.no_comms});
  ScheduleWriteOptions options;
  options.format = *ParseScheduleFileFormat(f.format);
  options.csv = f.csv_format == "compute_comms" ? CsvFormat::kComputeComms : CsvFormat::kComputeOnly;
  Result<std::string> out = FormatSchedule(schedule, options);
  if (!out.ok()) Fail(kExitRuntimeError, out.status().message());
  return *out;
}

void Emit(const std::string& content, const std::string& path) {
  if (path.empty() || path == "-") {
    std::fwrite(content.data(), 1, content.size(), stdout);
    return;
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) Fail(kExitRuntimeError, fmt::format("{}: cannot write", path));
}

void Run(const ScheduleFlags& f) {
  if (!f.staleness.empty() && !f.analyze) Fail(kExitBadInput, "--staleness: needs --analyze");
  const ir::Schedule schedule = f.input.empty() ? GenerateOrFail(f) : LoadOrFail(f);
  Emit(Render(schedule, f), f.output);
}

}  // namespace

void AddScheduleCommand(CLI::App& app) {
  auto flags = std::make_shared<ScheduleFlags>();
  CLI::App* cmd = app.add_subcommand("schedule", "Generate, load, validate, analyse and print a schedule");
  AddSpecFlags(cmd, &flags->spec);
  cmd->add_option("--format", flags->format, "output: text, grid, json, csv, proto")
      ->check(CLI::IsMember({"text", "grid", "json", "csv", "proto"}));
  cmd->add_option("--csv-format", flags->csv_format, "PyTorch CSV flavour for --format csv")
      ->check(CLI::IsMember({"compute_only", "compute_comms"}));
  cmd->add_flag("--analyze", flags->analyze, "print the weight-version analysis instead of the schedule");
  AddStalenessOption(cmd, &flags->staleness);
  cmd->add_flag("--per-microbatch", flags->per_microbatch,
                "with --analyze --format json: every micro-batch's versions");
  cmd->add_flag("--compact", flags->compact, "text: keep the repeated body as ( ... )xR+S");
  cmd->add_flag("--no-comms", flags->no_comms, "text: leave out SEND/RECV ops");
  cmd->add_flag("--add-comms", flags->add_comms,
                "rewrite SEND/RECV ops around every compute op (e.g. after a compute_only CSV)");
  cmd->add_option("-o,--output", flags->output, "write here instead of stdout");
  cmd->add_option("--input", flags->input,
                  "load a schedule (.txt text, .csv PyTorch, .json, .pb) instead of generating");
  cmd->callback([flags] { Run(*flags); });
}

}  // namespace paci::cli
