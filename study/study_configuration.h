// A study's stored runs grouped into configurations (points without their seed), as `paci study
// report` and `paci sweep --loss-curves` read them, and what a configuration is compared with: its
// 1F1B-flush baseline, and its rate at a target scale under a cost model.
#pragma once

#include <cstdint>
#include <vector>

#include "paci.pb.h"
#include "proto/status.h"
#include "store/trace_store.h"
#include "study/loss_curve_study.h"
#include "study/study_point.h"

namespace paci::study {

// One seed of a configuration: every complete measured run with the study's columns.
struct StudyRun {
  int64_t id = 0, seed = 0;
  std::vector<ir::UpdateMetric> updates;
  double final_val_loss = 0;  // NaN when the run stored none
};
struct StudyConfiguration {
  StudyPoint point;
  std::string label;  // ConfigurationLabel, plus the setup when two setups share it
  ir::PipelineSpec spec;
  std::vector<StudyRun> runs;                   // one per seed
  int repeated_runs = 0;                        // later runs of a seed already in `runs`, left out
  std::vector<TokenCurve> TrainCurves() const;  // train loss against tokens, per run
  bool IsFlush() const { return point.config.schedule == "1f1b-flush"; }
};
// Sorted by label. Errors name the store.
Result<std::vector<StudyConfiguration>> LoadStudy(store::TraceStore& db);

// Predicted time to accuracy at a target scale counts the study's updates to the target, each at
// the target scale's steady-state time per update (sim::SteadyTokensPerSecond under `cost`).
// Expressed as a rate in the study's tokens per second, so tokens to target / this rate is that
// time: steady tokens/s x (study tokens per update / target tokens per update). A cost model
// without tokens_per_microbatch is taken to be at the study's micro-batch size. A configuration
// whose variant (VariantName) carries a staleness compensation is costed with it (CompensatedCost).
Result<double> StudyTokensPerSecondAt(const StudyConfiguration& c, ir::CostModel cost);

// Whether `flush` is the 1F1B-flush configuration `c` compares with: same P, lr, tokens per
// update and setup (apart from knobs only `c`'s schedule has, e.g. --drift-lr-scale).
bool IsFlushBaselineOf(const StudyConfiguration& flush, const StudyConfiguration& c);

// The flush baseline of `c` among `configs` (a vector of StudyConfiguration or of a type derived
// from it); nullptr when the study has none.
template <typename Config>
const Config* FlushOf(const std::vector<Config>& configs, const StudyConfiguration& c) {
  for (const Config& f : configs)
    if (IsFlushBaselineOf(f, c)) return &f;
  return nullptr;
}

}  // namespace paci::study
