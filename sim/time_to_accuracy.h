// Time to accuracy: combines a loss curve per optimizer update (from a training run, CSV now) with
// a schedule's simulated time per update, giving the wall time each schedule needs to reach a
// target loss and its speed-up over the fastest flush schedule. The loss curve says how many
// updates a schedule needs (it can differ per schedule: drift changes convergence); the
// simulator says how long each update takes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "paci.pb.h"
#include "proto/status.h"

namespace paci::sim {

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
// `paci summary` and the study analysis (sim/loss_curve_study.h) both use it.
constexpr size_t kLossSmoothingWindow = 10;
std::vector<double> TrailingMeanLoss(const std::vector<double>& loss, size_t window = kLossSmoothingWindow);
// Index of the first point whose trailing mean is <= target; nullopt if none.
std::optional<size_t> FirstIndexReaching(const std::vector<double>& loss, double target,
                                         size_t window = kLossSmoothingWindow);

// Simulated wall time of a run as a function of its optimizer updates: time(u) = offset + u * period.
// period is the steady-state time per update, offset the start-up (and drain) cost.
struct UpdateTiming {
  double offset_s = 0;
  double period_s = 0;
  double SecondsFor(uint64_t updates) const { return offset_s + static_cast<double>(updates) * period_s; }
};

// Simulates `spec` for R and 2R updates (R = `updates`, flush: R iterations; asynchronous: R * K
// micro-batches) and fits time(u) through the two makespans. Exact for flush schedules.
Result<UpdateTiming> SimulateUpdateTiming(const ir::PipelineSpec& spec, const ir::CostModel& cost,
                                          uint64_t updates = 32);

struct TtaEntry {
  std::string label;             // e.g. "paci P=8 K=8"
  bool flush = false;            // counts as a flush baseline
  UpdateTiming timing;
  std::optional<uint64_t> updates_to_target;
  std::optional<double> seconds_to_target;
  std::optional<double> speedup_vs_best_flush;  // best flush seconds / this entry's seconds
};

// Fills seconds_to_target from updates_to_target and timing, then speedup_vs_best_flush against
// the fastest flush entry that reaches the target.
void RankTimeToAccuracy(std::vector<TtaEntry>* entries);

}  // namespace paci::sim
