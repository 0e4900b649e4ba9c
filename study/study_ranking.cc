#include "study/study_ranking.h"

#include <algorithm>

namespace paci::study {
namespace {

Result<StudyRank> RankOf(const StudyConfiguration& c, double target_loss, const sim::CostForSpec& cost_for) {
  StudyRank r;
  r.config = &c;
  r.tokens = TokensToTargetOverSeeds(c.TrainCurves(), target_loss);
  Result<ir::CostModel> cost = cost_for(c.spec);
  if (!cost.ok()) return Status::InvalidArgument(c.label + ": " + cost.status().message());
  Result<double> rate = StudyTokensPerSecondAt(c, *cost);
  if (!rate.ok()) return Status::InvalidArgument(c.label + ": " + rate.status().message());
  r.rate = *rate;
  r.time = PredictTimeToAccuracy(r.tokens, r.rate);
  return r;
}

}  // namespace

Result<StudyRanking> RankStudy(const std::vector<StudyConfiguration>& configs, double target_loss,
                               const sim::CostForSpec& cost_for) {
  StudyRanking out;
  for (const StudyConfiguration& c : configs) {
    Result<StudyRank> r = RankOf(c, target_loss, cost_for);
    if (!r.ok()) return r.status();
    out.ranks.push_back(*r);
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
    r.vs_best_flush = StudyRank::VsFlush{*r.tokens.mean / *flush.tokens.mean, r.rate / flush.rate,
                                         *flush.time.seconds / *r.time.seconds};
  }
  return out;
}

}  // namespace paci::study
