#include "study/study_ranking.h"

#include <algorithm>

#include "study/study_report.h"

namespace paci::study {

Result<StudyRanking> RankStudy(const std::vector<StudyConfiguration>& configs, double target_loss,
                               const sim::CostForSpec& cost_for) {
  std::vector<double> rates;
  for (const StudyConfiguration& c : configs) {
    Result<ir::CostModel> cost = cost_for(c.spec);
    if (!cost.ok()) return Status::InvalidArgument(c.label + ": " + cost.status().message());
    Result<double> rate = StudyTokensPerSecondAt(c, *cost);
    if (!rate.ok()) return Status::InvalidArgument(c.label + ": " + rate.status().message());
    rates.push_back(*rate);
  }
  return RankStudyAtRates(configs, rates, target_loss);
}

StudyRanking RankStudyAtRates(const std::vector<StudyConfiguration>& configs,
                              const std::vector<double>& rates, double target_loss) {
  StudyRanking out;
  for (size_t i = 0; i < configs.size() && i < rates.size(); ++i) {
    StudyRank& r = out.ranks.emplace_back();
    r.config = &configs[i];
    r.tokens = TokensToTargetOverSeeds(configs[i].TrainCurves(), target_loss);
    r.rate = rates[i];
    r.time = PredictTimeToAccuracy(r.tokens, r.rate);
  }
  std::stable_sort(out.ranks.begin(), out.ranks.end(), [](const StudyRank& a, const StudyRank& b) {
    if (a.time.seconds.has_value() != b.time.seconds.has_value()) return a.time.seconds.has_value();
    return a.time.seconds && *a.time.seconds < *b.time.seconds;
  });
  for (size_t i = 0; i < out.ranks.size() && !out.best_flush; ++i)
    if (out.ranks[i].config->IsFlush() && out.ranks[i].time.seconds) out.best_flush = i;
  if (!out.best_flush) return out;
  const StudyRank& flush = out.ranks[*out.best_flush];
  for (size_t i = 0; i < out.ranks.size(); ++i) {
    StudyRank& r = out.ranks[i];
    if (i == *out.best_flush || !r.time.seconds) continue;
    r.vs_best_flush = StudyRank::VsFlush{
        *r.tokens.mean / *flush.tokens.mean, r.rate / flush.rate, *flush.time.seconds / *r.time.seconds,
        PairedSpeedup(*r.config, r.rate, *flush.config, flush.rate, target_loss)};
  }
  return out;
}

}  // namespace paci::study
