#include "tools/study_point.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "proto/ir_names.h"
#include "store/metric_keys.h"

#include "study/run_record.h"
#include "tools/pipeline_train.h"

namespace paci::cli {

std::optional<StudyPoint> PointOfRun(const store::RunRecord& run) {
  const store::RunConfig& c = run.info.config;
  if (c.schedule.empty() || !c.stages || !c.accum || !c.lr || !c.seed || !c.microbatch_size || !c.tokens_per_update)
    return std::nullopt;
  if (!run.info.setup) return std::nullopt;
  return StudyPoint{c, study::SetupIdentity(*run.info.setup)};
}

Result<StudyPoint> PointOfTrainArgs(const std::vector<std::string>& args) {
  Result<TrainArgs> t = ReadTrainArgs(args);
  if (!t.ok()) return t.status();
  // What train would refuse, refused here: the point's identity below multiplies its numbers.
  PACI_RETURN_IF_ERROR(CheckTrainArgs(*t));
  // The record train will store (study/run_record.h), and from it the columns as
  // pipeline_train.cc's MakeRunInfo and the store's FillConfigFromRun fill them.
  Result<ir::RunSetup> setup = study::BuildRunSetup(t->cfg, RunChoicesOf(t->pipe));
  if (!setup.ok()) return setup.status();
  StudyPoint p;
  p.config.schedule = t->pipe.schedule;
  p.config.stages = t->pipe.stages;
  p.config.accum = setup->accum();
  p.config.microbatch_size = setup->microbatch_size();
  p.config.tokens_per_update = static_cast<int64_t>(setup->tokens_per_update());
  p.config.lr = setup->lr();
  p.config.seed = static_cast<int64_t>(setup->seed());
  p.config.device = setup->device();
  p.config.precision = PrecisionName(setup->precision());
  p.setup = study::SetupIdentity(*setup);
  return p;
}

bool SamePoint(const StudyPoint& a, const StudyPoint& b, bool ignore_seed) {
  const store::RunConfig &x = a.config, &y = b.config;
  return x.schedule == y.schedule && x.stages == y.stages && x.accum == y.accum && x.lr == y.lr &&
         x.microbatch_size == y.microbatch_size && x.tokens_per_update == y.tokens_per_update &&
         (ignore_seed || x.seed == y.seed) && a.setup == b.setup &&
         // Runs stored before these columns existed say nothing: they were on the CPU in fp32.
         (x.device.empty() ? "cpu" : x.device) == (y.device.empty() ? "cpu" : y.device) &&
         (x.precision.empty() ? "fp32" : x.precision) == (y.precision.empty() ? "fp32" : y.precision);
}

std::string VariantName(const StudyPoint& p) {
  const nlohmann::json setup = nlohmann::json::parse(p.setup, nullptr, /*allow_exceptions=*/false);
  if (setup.is_object() && setup.contains("drift_lr_scale"))
    return fmt::format("{}+drift-lr-scale={}", p.config.schedule, setup["drift_lr_scale"].dump());
  return p.config.schedule;
}

std::string ConfigurationLabel(const StudyPoint& p) {
  const store::RunConfig& c = p.config;
  return fmt::format("{} P={} K={} lr={:g} b={} tokens/update={}", VariantName(p), c.stages.value_or(0),
                     c.accum.value_or(0), c.lr.value_or(0), c.microbatch_size.value_or(0),
                     c.tokens_per_update.value_or(0));
}

namespace {

// The setup without the knobs of one schedule (PipeMare's lr warm-up, the drift lr scale): what a
// schedule and its flush baseline must share.
std::string SharedSetup(const std::string& setup) {
  nlohmann::json j = nlohmann::json::parse(setup, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return setup;
  j.erase("pipemare_lr_warmup");
  j.erase("drift_lr_scale");
  return j.dump();
}

}  // namespace

std::vector<sim::TokenCurve> StudyConfiguration::TrainCurves() const {
  std::vector<sim::TokenCurve> curves;
  for (const StudyRun& r : runs) {
    sim::TokenCurve& c = curves.emplace_back();
    for (const ir::UpdateMetric& u : r.updates) {
      c.tokens.push_back(static_cast<double>(u.tokens()));
      c.loss.push_back(u.loss());
    }
  }
  return curves;
}

Result<std::vector<StudyConfiguration>> LoadStudy(store::TraceStore& db) {
  Result<std::vector<store::RunRecord>> runs = db.ListRuns();
  if (!runs.ok()) return runs.status();
  std::vector<StudyConfiguration> configs;
  for (const store::RunRecord& r : *runs) {
    if (r.status != store::RunStatus::kComplete || r.info.kind != store::RunKind::kMeasured) continue;
    const std::optional<StudyPoint> point = PointOfRun(r);
    if (!point) continue;
    Result<store::RunData> data = db.LoadRunWithoutOps(r.id);
    if (!data.ok()) return data.status();
    auto it = std::find_if(configs.begin(), configs.end(), [&](const StudyConfiguration& c) {
      return SamePoint(c.point, *point, /*ignore_seed=*/true);
    });
    if (it == configs.end()) {
      it = configs.insert(configs.end(), StudyConfiguration{});
      it->point = *point;
      it->label = ConfigurationLabel(*point);
      it->spec = r.info.spec;
    }
    StudyRun& run = it->runs.emplace_back();
    run.id = r.id;
    run.seed = *point->config.seed;
    run.updates = std::move(data->updates);
    auto val = data->metrics.find(std::string(store::metric::kValLoss));
    run.final_val_loss = val == data->metrics.end() ? NAN : val->second;
  }
  // Two setups with equal columns (e.g. different --updates) are told apart by their setup.
  for (StudyConfiguration& c : configs)
    if (std::count_if(configs.begin(), configs.end(), [&](const StudyConfiguration& o) { return o.label == c.label; }) > 1)
      c.label += " " + c.point.setup;
  std::sort(configs.begin(), configs.end(),
            [](const StudyConfiguration& a, const StudyConfiguration& b) { return a.label < b.label; });
  return configs;
}

Result<double> StudyTokensPerSecondAt(const StudyConfiguration& c, ir::CostModel cost) {
  const double study_per_update = static_cast<double>(*c.point.config.tokens_per_update);
  const double k = static_cast<double>(*c.point.config.accum);
  if (cost.tokens_per_microbatch() == 0) cost.set_tokens_per_microbatch(static_cast<uint64_t>(study_per_update / k));
  Result<double> steady = sim::SteadyTokensPerSecond(c.spec, cost);
  if (!steady.ok()) return steady.status();
  return *steady * study_per_update / (k * static_cast<double>(cost.tokens_per_microbatch()));
}

bool IsFlushBaselineOf(const StudyConfiguration& f, const StudyConfiguration& c) {
  return f.IsFlush() && f.point.config.stages == c.point.config.stages && f.point.config.lr == c.point.config.lr &&
         f.point.config.tokens_per_update == c.point.config.tokens_per_update &&
         SharedSetup(f.point.setup) == SharedSetup(c.point.setup);
}

}  // namespace paci::cli
