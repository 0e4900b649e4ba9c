// How `paci study` names a point of its grid: the store's configuration columns (schedule, P, K,
// lr, seed, micro-batch size, tokens per update, device, precision) plus the run's setup (model
// shape, length, lr shape, the --data corpus by content, ...; RunSetup in pipeline_train.h).
// Resume and report both compare these, never run names, so a renamed run still counts and two
// setups never mix.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sim/loss_curve_study.h"
#include "store/run_info.h"
#include "store/trace_store.h"

namespace paci::cli {

struct StudyPoint {
  store::RunConfig config;  // schedule, stages, accum, microbatch_size, tokens_per_update, lr, seed,
                            // device, precision
  std::string setup;        // RunSetup's keys as compact JSON
};

// The point a stored run trained; nullopt when the run lacks a column the study needs (a
// simulation, an unpipelined run, a run from before the columns existed).
std::optional<StudyPoint> PointOfRun(const store::RunRecord& run);

// The point `paci train ARGS` will train (args after "train"); refuses what train would refuse
// before training (CheckTrainArgs), naming the flag.
Result<StudyPoint> PointOfTrainArgs(const std::vector<std::string>& args);

// Equal columns and setup. With `ignore_seed`, the seeds of one configuration compare equal.
bool SamePoint(const StudyPoint& a, const StudyPoint& b, bool ignore_seed = false);

// The schedule as a study compares it: its name, plus "+drift-lr-scale=A" with the mitigation.
std::string VariantName(const StudyPoint& p);

// "paci P=4 K=2 lr=0.001 b=4 tokens/update=512": a configuration's label, seed left out.
std::string ConfigurationLabel(const StudyPoint& p);

// A study's runs grouped into configurations (points without their seed), as `paci study report`
// and `paci sweep --loss-curves` read them: every complete measured run with the columns above.
struct StudyRun {
  int64_t id = 0, seed = 0;
  std::vector<ir::UpdateMetric> updates;
  double final_val_loss = 0;  // NaN when the run stored none
};
struct StudyConfiguration {
  StudyPoint point;
  std::string label;         // ConfigurationLabel, plus the setup when two setups share it
  ir::PipelineSpec spec;
  std::vector<StudyRun> runs;  // one per seed
  std::vector<sim::TokenCurve> TrainCurves() const;  // train loss against tokens, per run
  bool IsFlush() const { return point.config.schedule == "1f1b-flush"; }
};
// Sorted by label. Errors name the store.
Result<std::vector<StudyConfiguration>> LoadStudy(store::TraceStore& db);

// Predicted time to accuracy at a target scale counts the study's updates to the target, each at
// the target scale's steady-state time per update (SteadyTokensPerSecond under `cost`). Expressed
// as a rate in the study's tokens per second, so tokens to target / this rate is that time:
// steady tokens/s x (study tokens per update / target tokens per update). A cost model without
// tokens_per_microbatch is taken to be at the study's micro-batch size.
Result<double> StudyTokensPerSecondAt(const StudyConfiguration& c, ir::CostModel cost);

// Whether `flush` is the 1F1B-flush configuration `c` compares with: same P, lr, tokens per
// update and setup (apart from knobs only `c`'s schedule has, e.g. --drift-lr-scale).
bool IsFlushBaselineOf(const StudyConfiguration& flush, const StudyConfiguration& c);

}  // namespace paci::cli
