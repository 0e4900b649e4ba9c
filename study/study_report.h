// The numbers of `paci study report` that are more than a column copied out of the store: which
// configurations a sub-grid keeps, the final validation loss of a configuration with its gap to
// 1F1B-flush, each with a 95 % t-interval over seeds (statistics.h), and speed-ups in time to a
// target loss paired by seed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "study/statistics.h"
#include "study/study_configuration.h"

namespace paci::study {

// A sub-grid of a study (empty lists: all). Schedules are matched by variant name: "paci" is plain
// PACI, "paci+drift-lr-scale=1" the mitigated one; an lr within 1e-6 relative of one given matches
// (lr is stored from a float).
struct SubGrid {
  std::vector<std::string> schedules;
  std::vector<int64_t> stages, accum;
  std::vector<double> lr;
  bool Empty() const { return schedules.empty() && stages.empty() && accum.empty() && lr.empty(); }
};

// The configurations in `grid`, and the 1F1B-flush baseline of each (so the gap to flush and the
// plots keep their reference), in their order in `all`. Empty when the sub-grid holds none.
std::vector<StudyConfiguration> SelectSubGrid(const SubGrid& grid, std::vector<StudyConfiguration> all);

// Gap in final validation loss of `c` to `base`, paired by seed (same seed: same initial weights
// and data order), so the interval is over per-seed differences; nullopt when no seed pairs with a
// value. GapToFlush is it against the flush baseline.
std::optional<MeanInterval> PairedGap(const StudyConfiguration& c, const StudyConfiguration& base);
std::optional<MeanInterval> GapToFlush(const StudyConfiguration& c, const StudyConfiguration& flush);

// Whether `plain` is the uncompensated form of the variant `c` ("paci" of "paci+predict=1"): same
// schedule, P, K, lr, tokens per update and shared setup, without a compensation.
bool IsPlainFormOf(const StudyConfiguration& plain, const StudyConfiguration& c);
template <typename Config>
const Config* PlainOf(const std::vector<Config>& configs, const StudyConfiguration& c) {
  for (const Config& p : configs)
    if (IsPlainFormOf(p, c)) return &p;
  return nullptr;
}

// A configuration's row of final.csv: its final validation loss over seeds, and with a flush
// baseline that baseline's mean and the paired gap.
struct FinalLoss {
  std::optional<MeanInterval> val;
  std::optional<double> flush_val;
  std::optional<MeanInterval> gap;
};
FinalLoss FinalLossOf(const StudyConfiguration& c, const StudyConfiguration* flush);

// Speed-up in predicted time to `target_loss` of `c` (at `c_rate` study tokens per second at the
// target scale) over `base` (at `base_rate`), paired by seed: per seed, base's time / c's time =
// (base tokens to target / base_rate) / (c tokens to target / c_rate), then the geometric mean and
// its 95 % interval over the seeds (statistics.h). nullopt when no seed pairs, or when a seed of
// either never reaches the target (as tokens to target, defined only when every seed does).
std::optional<MeanInterval> PairedSpeedup(const StudyConfiguration& c, double c_rate,
                                          const StudyConfiguration& base, double base_rate,
                                          double target_loss);

}  // namespace paci::study
