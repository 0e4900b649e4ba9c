// The analysis of a training study (schedules x K x lr x seeds): loss against tokens, mean and
// spread over seeds, tokens to a target loss with an interval over seeds, and time to accuracy at
// a target scale = tokens to target / the simulator's steady-state tokens per second under a cost
// model (sim::SteadyTokensPerSecond). Pure functions: curves come in, numbers go out; nothing here
// reads a clock or a store.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "paci.pb.h"
#include "proto/status.h"
#include "study/time_to_accuracy.h"

namespace paci::study {

// One run's loss against the training tokens seen when it was measured (ascending tokens).
struct TokenCurve {
  std::vector<double> tokens;
  std::vector<double> loss;
};

// A per-update curve (update u has seen u * tokens_per_update tokens) as loss against tokens, so
// runs with different micro-batches per update compare at equal data.
TokenCurve LossAgainstTokens(const LossCurve& curve, double tokens_per_update);

// Mean and sample standard deviation over seeds, point by point. The seeds of one configuration
// are measured at the same token counts; curves of different lengths are cut to the shortest.
struct SeedBand {
  std::vector<double> tokens, mean, stddev;
  size_t seeds = 0;
};
Result<SeedBand> MeanOverSeeds(const std::vector<TokenCurve>& seeds);

// Tokens at the first point whose smoothed loss (FirstIndexReaching, the one definition of
// "reached") is <= target; nullopt if the run never gets there.
std::optional<double> TokensToReach(const TokenCurve& curve, double target_loss,
                                    size_t window = kLossSmoothingWindow);

// Tokens to target over seeds: the geometric mean and its 95 % interval, t on the logs
// (statistics.h: a count is positive and skewed, so a symmetric interval would go below zero).
// Defined only when every seed reaches the target (a seed that never does has no finite token
// count, so the mean would be biased low); `reached` says how many did, `per_seed` what each did, in
// the order of the curves given. One seed: lo = hi = mean (no spread known).
struct TokensToTarget {
  size_t seeds = 0, reached = 0;
  std::optional<double> mean, lo, hi;
  std::vector<std::optional<double>> per_seed;
};
TokensToTarget TokensToTargetOverSeeds(const std::vector<TokenCurve>& seeds, double target_loss,
                                       size_t window = kLossSmoothingWindow);

// Predicted time to accuracy at the target scale: tokens to target / steady tokens per second.
// Wall-clock time of the study's own runs plays no part.
struct PredictedTimeToAccuracy {
  std::optional<double> seconds, lo, hi;
};
PredictedTimeToAccuracy PredictTimeToAccuracy(const TokensToTarget& tokens, double steady_tokens_per_s);

}  // namespace paci::study
