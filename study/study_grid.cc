#include "study/study_grid.h"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <set>

#include "proto/ir_names.h"
#include "sched/checked_math.h"
#include "sched/limits.h"
#include "sched/staleness.h"

namespace paci::study {
namespace {

Status Bad(const std::string& message) { return Status::InvalidArgument(message); }

// The first value given twice in a list: its points would train twice and pool as two seeds of
// one configuration, with a zero-width interval (issue 25, `--accum 2,2`).
template <typename T>
Status NoRepeats(const std::vector<T>& values, const char* flag) {
  std::set<T> seen;
  for (const T& v : values)
    if (!seen.insert(v).second)
      return Bad(fmt::format("{}: {} is given twice; each value is one point of the grid", flag, v));
  return Status::Ok();
}

}  // namespace

std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> items;
  size_t start = 0;
  for (size_t comma = text.find(','); comma != std::string_view::npos; comma = text.find(',', start)) {
    items.emplace_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  items.emplace_back(text.substr(start));
  return items;
}

namespace {
// A schedule, or a schedule with a staleness compensation: "paci", "paci+rewind=1".
Status CheckScheduleItem(const std::string& s) {
  Result<ScheduleVariant> v = ParseScheduleVariant(s);
  return v.ok() ? Status::Ok() : Bad("--schedules: " + v.status().message());
}
}  // namespace

Result<std::vector<std::string>> ReadScheduleList(const std::vector<std::string>& items) {
  for (const std::string& s : items) PACI_RETURN_IF_ERROR(CheckScheduleItem(s));
  return items;
}

Result<std::vector<uint32_t>> ReadAccumList(const std::vector<std::string>& items) {
  std::vector<uint32_t> out;
  for (const std::string& s : items) {
    // Digits only: strtoul would take "-1" as 2^64 - 1, " 2" and "2x" as 2.
    const bool digits =
        !s.empty() && s.size() <= 10 && s.find_first_not_of("0123456789") == std::string::npos;
    const unsigned long long v = digits ? std::strtoull(s.c_str(), nullptr, 10) : 0;
    if (!digits || v < 1 || v > UINT32_MAX)
      return Bad(fmt::format("--accum: '{}' is not a whole number in [1, {}]", s, UINT32_MAX));
    out.push_back(static_cast<uint32_t>(v));
  }
  return out;
}

Result<std::vector<double>> ReadLrList(const std::vector<std::string>& items) {
  std::vector<double> out;
  for (const std::string& s : items) {
    char* end = nullptr;
    errno = 0;
    const double v = s.empty() ? NAN : std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v) || !(v > 0))
      return Bad(fmt::format("--lr: '{}' is not a finite number > 0", s));
    out.push_back(v);
  }
  return out;
}

Status CheckGridFlags(const GridFlags& f) {
  if (f.jobs < 1 || f.jobs > kMaxStudyJobs)
    return Bad(fmt::format("--jobs must be in [1, {}], got {}", kMaxStudyJobs, f.jobs));
  if (f.stages < 1 || f.stages > kMaxStages)
    return Bad(fmt::format("--stages must be in [1, {}] (kMaxStages, sched/limits.h), got {}", kMaxStages,
                           f.stages));
  if (f.seeds < 1) return Bad("--seeds must be at least 1");
  if (f.updates < 1) return Bad("--updates must be at least 1");
  if (f.schedules.empty() || f.accum.empty() || f.lr.empty())
    return Bad("--schedules, --accum and --lr need a value");
  if (!(f.warmup_frac >= 0 && f.warmup_frac < 1)) return Bad("--warmup-frac must be in [0, 1)");
  if (!(f.min_lr_frac >= 0 && f.min_lr_frac <= 1)) return Bad("--min-lr-frac must be in [0, 1]");
  const Result<uint64_t> points =
      CheckedProduct({f.schedules.size(), f.accum.size(), f.lr.size(), f.seeds}, kMaxStudyPoints,
                     "--schedules x --accum x --lr x --seeds", "kMaxStudyPoints (study/study_grid.h)");
  if (!points.ok()) return points.status();
  for (const std::string& s : f.schedules) PACI_RETURN_IF_ERROR(CheckScheduleItem(s));
  PACI_RETURN_IF_ERROR(NoRepeats(f.schedules, "--schedules"));
  PACI_RETURN_IF_ERROR(NoRepeats(f.accum, "--accum"));
  return NoRepeats(f.lr, "--lr");
}

std::vector<GridPoint> ExpandGrid(const GridFlags& f, const std::string& db,
                                  const std::vector<std::string>& extra) {
  std::string words;
  for (const std::string& a : extra) words += " " + a;
  const int64_t warmup = std::llround(f.warmup_frac * static_cast<double>(f.updates));
  std::vector<GridPoint> grid;
  for (const std::string& schedule : f.schedules)
    for (uint32_t k : f.accum)
      for (double lr : f.lr)
        for (uint32_t seed = 1; seed <= f.seeds; ++seed) {
          GridPoint p;
          // {} is the shortest text that reads back as the same double: with {:g} two learning
          // rates that differ past the sixth digit trained as one point, twice.
          p.name =
              fmt::format("study {} P={} K={} lr={} seed={} updates={} warmup={:g} min_lr={:g}{}", schedule,
                          f.stages, k, lr, seed, f.updates, f.warmup_frac, f.min_lr_frac, words);
          const Result<ScheduleVariant> variant =
              ParseScheduleVariant(schedule);  // checked by CheckGridFlags
          p.args = {"train",
                    "--schedule",
                    variant.ok() ? variant->schedule : schedule,
                    "--stages",
                    std::to_string(f.stages),
                    "--accum",
                    std::to_string(k),
                    "--lr",
                    fmt::format("{}", lr),
                    "--seed",
                    std::to_string(seed),
                    "--updates",
                    std::to_string(f.updates),
                    "--warmup",
                    std::to_string(warmup),
                    "--min-lr-frac",
                    fmt::format("{:g}", f.min_lr_frac),
                    "--db",
                    db,
                    "--name",
                    p.name};
          if (variant.ok() && variant->staleness.on())
            p.args.insert(p.args.end(), {"--staleness", StalenessText(variant->staleness)});
          p.args.insert(p.args.end(), extra.begin(), extra.end());
          grid.push_back(std::move(p));
        }
  return grid;
}

}  // namespace paci::study
