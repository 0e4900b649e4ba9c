// The grid of a `paci study`: its lists (--schedules, --accum, --lr) read from the command line's
// words, their checks, and the expansion into one `paci train` command line per point. Kept apart
// from tools/cmd_study.cc so that the fuzz target (tests/fuzz/fuzz_study_grid.cc) runs exactly it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proto/status.h"

namespace paci::study {

// A grid beyond these is a typo, not a study (issue 25: --seeds 4294967295 looped forever, growing,
// and --jobs 2^30 overflowed jobs x stages into a division by zero).
inline constexpr uint64_t kMaxStudyPoints = 100000;
inline constexpr int kMaxStudyJobs = 1024;

struct GridFlags {
  std::vector<std::string> schedules{"paci", "1f1b-flush"};
  uint32_t stages = 4;
  std::vector<uint32_t> accum{4};
  std::vector<double> lr{1e-3};
  uint32_t seeds = 1;
  int64_t updates = 100;
  double warmup_frac = 0.01;  // the paper: linear warm-up over 1 % of the updates
  double min_lr_frac = 0.1;   // cosine decay to 0.1 x peak
  int jobs = 1;
};

// "a,b,,c" -> {"a", "b", "", "c"}: the items of one comma-separated list word.
std::vector<std::string> SplitList(std::string_view text);

// Each item of a list flag as words on the command line give them (CLI11 splits at commas); an
// item that is not a value of the flag is refused, naming the flag and the item.
Result<std::vector<std::string>> ReadScheduleList(const std::vector<std::string>& items);
Result<std::vector<uint32_t>> ReadAccumList(const std::vector<std::string>& items);
Result<std::vector<double>> ReadLrList(const std::vector<std::string>& items);

// The grid's own numbers and lists, before any of them is multiplied or divided by: ranges, the
// point count (kMaxStudyPoints), known schedules, and no value given twice in a list.
Status CheckGridFlags(const GridFlags& f);

struct GridPoint {
  std::string name;               // the run's label in the store (for people; not its identity)
  std::vector<std::string> args;  // `paci train` arguments, "train" first
};

// One point per schedule x K x lr x seed (in that order), each training into `db`, with `extra`
// (the pass-through flags) appended. Expects CheckGridFlags to have passed.
std::vector<GridPoint> ExpandGrid(const GridFlags& f, const std::string& db,
                                  const std::vector<std::string>& extra);

}  // namespace paci::study
