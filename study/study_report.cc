#include "study/study_report.h"

#include <algorithm>
#include <cmath>

namespace paci::study {
namespace {

template <typename T>
bool Selected(const std::vector<T>& wanted, const T& v) {
  return wanted.empty() || std::find(wanted.begin(), wanted.end(), v) != wanted.end();
}

bool InGrid(const SubGrid& g, const StudyConfiguration& c) {
  const store::RunConfig& k = c.point.config;
  const bool lr_ok = g.lr.empty() || std::any_of(g.lr.begin(), g.lr.end(), [&](double x) {
                       return std::abs(x - *k.lr) <= 1e-6 * std::abs(x);
                     });
  return Selected(g.schedules, VariantName(c.point)) && Selected(g.stages, *k.stages) &&
         Selected(g.accum, *k.accum) && lr_ok;
}

std::vector<double> FinalValLosses(const StudyConfiguration& c) {
  std::vector<double> v;
  for (const StudyRun& r : c.runs) v.push_back(r.final_val_loss);
  return v;
}

}  // namespace

std::vector<StudyConfiguration> SelectSubGrid(const SubGrid& grid, std::vector<StudyConfiguration> all) {
  if (grid.Empty()) return all;
  std::vector<StudyConfiguration> kept;
  for (const StudyConfiguration& c : all) {
    const bool baseline = std::any_of(all.begin(), all.end(), [&](const StudyConfiguration& x) {
      return InGrid(grid, x) && IsFlushBaselineOf(c, x);
    });
    if (InGrid(grid, c) || baseline) kept.push_back(c);
  }
  return kept;
}

std::optional<MeanInterval> PairedGap(const StudyConfiguration& c, const StudyConfiguration& base) {
  std::vector<double> diffs;
  for (const StudyRun& a : c.runs)
    for (const StudyRun& b : base.runs)
      if (a.seed == b.seed) diffs.push_back(a.final_val_loss - b.final_val_loss);
  return MeanWithInterval(diffs);
}

std::optional<MeanInterval> GapToFlush(const StudyConfiguration& c, const StudyConfiguration& flush) {
  return PairedGap(c, flush);
}

bool IsPlainFormOf(const StudyConfiguration& p, const StudyConfiguration& c) {
  const store::RunConfig &a = p.point.config, &b = c.point.config;
  return VariantName(c.point) != b.schedule && VariantName(p.point) == a.schedule &&
         a.schedule == b.schedule && a.stages == b.stages && a.accum == b.accum && a.lr == b.lr &&
         a.tokens_per_update == b.tokens_per_update &&
         SharedSetup(p.point.setup) == SharedSetup(c.point.setup);
}

FinalLoss FinalLossOf(const StudyConfiguration& c, const StudyConfiguration* flush) {
  FinalLoss out;
  out.val = MeanWithInterval(FinalValLosses(c));
  if (!flush) return out;
  if (std::optional<MeanInterval> f = MeanWithInterval(FinalValLosses(*flush))) out.flush_val = f->mean;
  out.gap = GapToFlush(c, *flush);
  return out;
}

std::optional<MeanInterval> PairedSpeedup(const StudyConfiguration& c, double c_rate,
                                          const StudyConfiguration& base, double base_rate,
                                          double target_loss) {
  if (!(c_rate > 0) || !(base_rate > 0)) return std::nullopt;
  const std::vector<TokenCurve> c_curves = c.TrainCurves(), base_curves = base.TrainCurves();
  std::vector<double> base_seconds, c_seconds;
  for (size_t i = 0; i < c.runs.size(); ++i)
    for (size_t j = 0; j < base.runs.size(); ++j) {
      if (c.runs[i].seed != base.runs[j].seed) continue;
      const std::optional<double> a = TokensToReach(c_curves[i], target_loss);
      const std::optional<double> b = TokensToReach(base_curves[j], target_loss);
      // As for tokens to target: a seed that never gets there has no time, and leaving it out
      // would flatter the side that missed, so the speed-up is defined only when every seed does.
      if (!a || !b) return std::nullopt;
      base_seconds.push_back(*b / base_rate);
      c_seconds.push_back(*a / c_rate);
    }
  return PairedRatioWithInterval(base_seconds, c_seconds);
}

}  // namespace paci::study
