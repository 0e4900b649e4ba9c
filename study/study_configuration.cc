#include "study/study_configuration.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>

#include "sched/staleness.h"
#include "sim/sweep.h"
#include "sim/update_timing.h"
#include "store/metric_keys.h"

namespace paci::study {
namespace {

// The run joins the configuration it shares every column but the seed with, or starts one.
StudyConfiguration& ConfigurationOf(std::vector<StudyConfiguration>& configs, const StudyPoint& point,
                                    const store::RunRecord& r) {
  auto it = std::find_if(configs.begin(), configs.end(), [&](const StudyConfiguration& c) {
    return SamePoint(c.point, point, /*ignore_seed=*/true);
  });
  if (it != configs.end()) return *it;
  StudyConfiguration& c = configs.emplace_back();
  c.point = point;
  c.label = ConfigurationLabel(point);
  c.spec = r.info.spec;
  return c;
}

}  // namespace

std::vector<TokenCurve> StudyConfiguration::TrainCurves() const {
  std::vector<TokenCurve> curves;
  for (const StudyRun& r : runs) {
    TokenCurve& c = curves.emplace_back();
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
    StudyConfiguration& config = ConfigurationOf(configs, *point, r);
    // A point trained twice (two studies at once, a re-run beside an orphaned child) is one seed,
    // not two: pooled, the copies gave "seeds=2" with a zero-width interval (issue 25). The first
    // run stored counts.
    if (std::any_of(config.runs.begin(), config.runs.end(),
                    [&](const StudyRun& o) { return o.seed == *point->config.seed; })) {
      ++config.repeated_runs;
      continue;
    }
    Result<store::RunData> data = db.LoadRunWithoutOps(r.id);
    if (!data.ok()) return data.status();
    StudyRun& run = config.runs.emplace_back();
    run.id = r.id;
    run.seed = *point->config.seed;
    run.updates = std::move(data->updates);
    auto val = data->metrics.find(std::string(store::metric::kValLoss));
    run.final_val_loss = val == data->metrics.end() ? NAN : val->second;
  }
  // Two setups with equal columns (e.g. different --updates) are told apart by their setup: every
  // label shared is decided before any is changed, so all of them get it.
  std::vector<bool> shared(configs.size());
  for (size_t i = 0; i < configs.size(); ++i)
    shared[i] = std::count_if(configs.begin(), configs.end(),
                              [&](const StudyConfiguration& o) { return o.label == configs[i].label; }) > 1;
  for (size_t i = 0; i < configs.size(); ++i)
    if (shared[i]) configs[i].label += " " + configs[i].point.setup;
  std::sort(configs.begin(), configs.end(),
            [](const StudyConfiguration& a, const StudyConfiguration& b) { return a.label < b.label; });
  return configs;
}

Result<double> StudyTokensPerSecondAt(const StudyConfiguration& c, ir::CostModel cost) {
  // A compensated variant ("paci+rewind=1") pays its extra reads and writes (sim/staleness_cost.h).
  Result<ScheduleVariant> variant = ParseScheduleVariant(VariantName(c.point));
  if (!variant.ok()) return variant.status();
  if (variant->staleness.on()) {
    Result<ir::CostModel> compensated = sim::CompensatedCost(c.spec, variant->staleness, cost);
    if (!compensated.ok()) return compensated.status();
    cost = *std::move(compensated);
  }
  const double study_per_update = static_cast<double>(*c.point.config.tokens_per_update);
  const double k = static_cast<double>(*c.point.config.accum);
  if (cost.tokens_per_microbatch() == 0)
    cost.set_tokens_per_microbatch(static_cast<uint64_t>(study_per_update / k));
  Result<double> steady = sim::SteadyTokensPerSecond(c.spec, cost);
  if (!steady.ok()) return steady.status();
  return *steady * study_per_update / (k * static_cast<double>(cost.tokens_per_microbatch()));
}

bool IsFlushBaselineOf(const StudyConfiguration& f, const StudyConfiguration& c) {
  return f.IsFlush() && f.point.config.stages == c.point.config.stages &&
         f.point.config.lr == c.point.config.lr &&
         f.point.config.tokens_per_update == c.point.config.tokens_per_update &&
         SharedSetup(f.point.setup) == SharedSetup(c.point.setup);
}

}  // namespace paci::study
