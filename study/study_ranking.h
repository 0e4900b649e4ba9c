// A study's configurations ranked by predicted time to a target loss (`paci sweep --loss-curves`):
// tokens to the target over seeds (measured) at the steady-state rate at a target scale
// (simulated), and why each ranks where it does: its tokens and throughput against the best flush.
#pragma once

#include <optional>
#include <vector>

#include "proto/status.h"
#include "sim/sweep.h"
#include "study/loss_curve_study.h"
#include "study/statistics.h"
#include "study/study_configuration.h"

namespace paci::study {

struct StudyRank {
  const StudyConfiguration* config = nullptr;
  TokensToTarget tokens;
  double rate = 0;  // study tokens per second at the target scale (StudyTokensPerSecondAt)
  PredictedTimeToAccuracy time;
  // Against the best flush baseline, for every other configuration that reaches the target:
  // tokens and throughput ratios, and the speed-up (best flush seconds / these seconds), the ratio
  // of the geometric means; `paired` is the speed-up paired by seed with its 95 % interval
  // (PairedSpeedup), the one to quote.
  struct VsFlush {
    double tokens = 0, throughput = 0, speedup = 0;
    std::optional<MeanInterval> paired;
  };
  std::optional<VsFlush> vs_best_flush;
};

struct StudyRanking {
  std::vector<StudyRank> ranks;      // fewest predicted seconds first; those that never reach last
  std::optional<size_t> best_flush;  // the fastest flush configuration that reaches the target
};

// Ranks `configs` (which must outlive the result) by predicted time to `target_loss`, the rate of
// each under cost_for(its spec). Errors name the configuration.
Result<StudyRanking> RankStudy(const std::vector<StudyConfiguration>& configs, double target_loss,
                               const sim::CostForSpec& cost_for);
// The same with each configuration's rate given (rates[i] for configs[i], as RankStudy computes).
StudyRanking RankStudyAtRates(const std::vector<StudyConfiguration>& configs,
                              const std::vector<double>& rates, double target_loss);

}  // namespace paci::study
