// Time to accuracy: combines a loss curve per optimizer update (from a training run, CSV now) with
// a schedule's simulated time per update (sim/update_timing.h), giving the wall time each schedule
// needs to reach a target loss and its speed-up over the fastest flush schedule. The loss curve
// says how many updates a schedule needs (it can differ per schedule: drift changes convergence);
// the simulator says how long each update takes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "paci.pb.h"
#include "proto/status.h"
#include "sim/sweep.h"
#include "sim/update_timing.h"

namespace paci::study {

struct LossCurve {
  std::vector<std::pair<uint64_t, double>> points;  // (update, loss), ascending updates
};

// CSV with columns update,loss (a header line is optional; extra columns are ignored).
// Errors name the line.
Result<LossCurve> ParseLossCurveCsv(const std::string& text, const std::string& source = "<csv>");
Result<LossCurve> LoadLossCurveCsv(const std::string& path);

// A target loss is a finite number in (0, kMaxTargetLoss]: NaN was never reached and skipped the
// table, infinity was "reached" at update 1 (issue 25). Cross-entropy over a vocabulary of V is
// ln V at chance (~10.8 for GPT-2's), so 1000 leaves every meaningful target in range.
inline constexpr double kMaxTargetLoss = 1000;
Status CheckTargetLoss(double target_loss);

// First update whose smoothed loss (FirstIndexReaching below: the trailing mean over
// kLossSmoothingWindow points) is <= target; nullopt if the curve never gets there.
std::optional<uint64_t> UpdatesToReach(const LossCurve& curve, double target_loss);

// The one definition of "reached a target loss" for measured curves: the loss averaged over a
// trailing window of `window` points (fewer at the start), so one lucky micro-batch does not count.
// `paci summary` and the study analysis (study/loss_curve_study.h) both use it.
constexpr size_t kLossSmoothingWindow = 10;
std::vector<double> TrailingMeanLoss(const std::vector<double>& loss, size_t window = kLossSmoothingWindow);
// Index of the first point whose trailing mean is <= target; nullopt if none.
std::optional<size_t> FirstIndexReaching(const std::vector<double>& loss, double target,
                                         size_t window = kLossSmoothingWindow);

struct TtaEntry {
  bool flush = false;  // counts as a flush baseline
  sim::UpdateTiming timing;
  std::optional<uint64_t> updates_to_target;
  std::optional<double> seconds_to_target;
  std::optional<double> speedup_vs_best_flush;  // best flush seconds / this entry's seconds
};

// Fills seconds_to_target from updates_to_target and timing, then speedup_vs_best_flush against
// the fastest flush entry that reaches the target.
void RankTimeToAccuracy(std::vector<TtaEntry>* entries);

// Time to accuracy of every row of a sweep, ranked within each stage count against the fastest
// flush row at that P. `curves` maps a schedule name to its loss curve, "*" to the curve of every
// schedule without its own; a row without a curve, or an impossible row, is left unranked. Each
// row's time per update is simulated (`tta_updates` and twice that) under `cost_for`, on
// `threads` threads (0: all cores). Errors are the first simulation that failed.
Result<std::vector<TtaEntry>> SweepTimeToAccuracy(const std::vector<sim::SweepRow>& rows,
                                                  const std::map<std::string, LossCurve>& curves,
                                                  double target_loss, const sim::CostForSpec& cost_for,
                                                  uint64_t tta_updates, unsigned threads);

}  // namespace paci::study
