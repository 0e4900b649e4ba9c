#include "study/loss_curve_study.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "study/statistics.h"

namespace paci::study {

TokenCurve LossAgainstTokens(const LossCurve& curve, double tokens_per_update) {
  TokenCurve out;
  for (const auto& [update, loss] : curve.points) {
    out.tokens.push_back(static_cast<double>(update) * tokens_per_update);
    out.loss.push_back(loss);
  }
  return out;
}

Result<SeedBand> MeanOverSeeds(const std::vector<TokenCurve>& seeds) {
  if (seeds.empty()) return Status::InvalidArgument("mean over seeds: no curves");
  size_t n = seeds[0].tokens.size();
  for (const TokenCurve& c : seeds) {
    if (c.tokens.size() != c.loss.size())
      return Status::InvalidArgument("mean over seeds: a curve has different token and loss counts");
    n = std::min(n, c.tokens.size());
  }
  SeedBand band;
  band.seeds = seeds.size();
  for (size_t i = 0; i < n; ++i) {
    const double tokens = seeds[0].tokens[i];
    std::vector<double> at_point;
    for (const TokenCurve& c : seeds) {
      if (c.tokens[i] != tokens)
        return Status::InvalidArgument("mean over seeds: point " + std::to_string(i) +
                                       " is measured at different token counts across seeds");
      at_point.push_back(c.loss[i]);
    }
    double sum = 0;
    for (double loss : at_point) sum += loss;
    const double mean = sum / static_cast<double>(seeds.size());
    band.tokens.push_back(tokens);
    band.mean.push_back(mean);
    band.stddev.push_back(SampleStdDev(at_point, mean));
  }
  return band;
}

std::optional<double> TokensToReach(const TokenCurve& curve, double target_loss, size_t window) {
  const std::optional<size_t> i = FirstIndexReaching(curve.loss, target_loss, window);
  if (!i) return std::nullopt;
  return curve.tokens[*i];
}

TokensToTarget TokensToTargetOverSeeds(const std::vector<TokenCurve>& seeds, double target_loss,
                                       size_t window) {
  TokensToTarget out;
  out.seeds = seeds.size();
  std::vector<double> reached;
  for (const TokenCurve& c : seeds) {
    out.per_seed.push_back(TokensToReach(c, target_loss, window));
    if (out.per_seed.back()) reached.push_back(*out.per_seed.back());
  }
  out.reached = reached.size();
  if (reached.empty() || reached.size() < seeds.size()) return out;
  const std::optional<MeanInterval> m = GeometricMeanWithInterval(reached);
  if (!m) return out;
  out.mean = m->mean;
  out.lo = m->lo;
  out.hi = m->hi;
  return out;
}

PredictedTimeToAccuracy PredictTimeToAccuracy(const TokensToTarget& tokens, double steady_tokens_per_s) {
  PredictedTimeToAccuracy out;
  if (!tokens.mean || !(steady_tokens_per_s > 0)) return out;
  out.seconds = *tokens.mean / steady_tokens_per_s;
  out.lo = *tokens.lo / steady_tokens_per_s;
  out.hi = *tokens.hi / steady_tokens_per_s;
  return out;
}

}  // namespace paci::study
