#include "sim/loss_curve_study.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "proto/ir_names.h"
#include "sched/pipeline_spec.h"

namespace paci::sim {

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
    double sum = 0;
    for (const TokenCurve& c : seeds) {
      if (c.tokens[i] != tokens)
        return Status::InvalidArgument("mean over seeds: point " + std::to_string(i) +
                                       " is measured at different token counts across seeds");
      sum += c.loss[i];
    }
    const double mean = sum / static_cast<double>(seeds.size());
    double squares = 0;
    for (const TokenCurve& c : seeds) squares += (c.loss[i] - mean) * (c.loss[i] - mean);
    band.tokens.push_back(tokens);
    band.mean.push_back(mean);
    band.stddev.push_back(seeds.size() > 1 ? std::sqrt(squares / static_cast<double>(seeds.size() - 1)) : 0.0);
  }
  return band;
}

std::optional<double> TokensToReach(const TokenCurve& curve, double target_loss, size_t window) {
  const std::optional<size_t> i = FirstIndexReaching(curve.loss, target_loss, window);
  if (!i) return std::nullopt;
  return curve.tokens[*i];
}

double StudentT95(size_t dof) {
  // Two-sided 97.5 % quantiles of Student's t for 1..30 degrees of freedom; the normal's beyond.
  static constexpr double kTable[30] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                        2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                                        2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
  if (dof == 0) return NAN;
  return dof <= 30 ? kTable[dof - 1] : 1.960;
}

TokensToTarget TokensToTargetOverSeeds(const std::vector<TokenCurve>& seeds, double target_loss, size_t window) {
  TokensToTarget out;
  out.seeds = seeds.size();
  std::vector<double> reached;
  for (const TokenCurve& c : seeds)
    if (std::optional<double> t = TokensToReach(c, target_loss, window)) reached.push_back(*t);
  out.reached = reached.size();
  if (reached.empty() || reached.size() < seeds.size()) return out;
  double sum = 0;
  for (double t : reached) sum += t;
  const double n = static_cast<double>(reached.size());
  const double mean = sum / n;
  double squares = 0;
  for (double t : reached) squares += (t - mean) * (t - mean);
  const double half = reached.size() > 1 ? StudentT95(reached.size() - 1) * std::sqrt(squares / (n - 1)) / std::sqrt(n) : 0.0;
  out.mean = mean;
  out.lo = mean - half;
  out.hi = mean + half;
  return out;
}

Result<double> SteadyTokensPerSecond(const ir::PipelineSpec& requested, const ir::CostModel& cost, uint64_t updates) {
  if (cost.tokens_per_microbatch() == 0)
    return Status::InvalidArgument("steady tokens/s: the cost model has no tokens_per_microbatch");
  Result<ir::PipelineSpec> spec = NormalizeSpec(requested);
  if (!spec.ok()) return spec.status();
  Result<UpdateTiming> timing = SimulateUpdateTiming(*spec, cost, updates);
  if (!timing.ok()) return timing.status();
  if (!(timing->period_s > 0)) return Status::FailedPrecondition("steady tokens/s: the simulated update takes no time");
  const uint64_t per_update = IsFlushSchedule(spec->kind()) ? spec->microbatches_per_iteration() : spec->accum();
  return static_cast<double>(per_update * cost.tokens_per_microbatch()) / timing->period_s;
}

PredictedTimeToAccuracy PredictTimeToAccuracy(const TokensToTarget& tokens, double steady_tokens_per_s) {
  PredictedTimeToAccuracy out;
  if (!tokens.mean || !(steady_tokens_per_s > 0)) return out;
  out.seconds = *tokens.mean / steady_tokens_per_s;
  out.lo = *tokens.lo / steady_tokens_per_s;
  out.hi = *tokens.hi / steady_tokens_per_s;
  return out;
}

}  // namespace paci::sim
