// libFuzzer target: the study grid (study/study_grid.h), what `paci study` does with its
// --schedules/--accum/--lr lists and grid numbers before it trains anything: the lists read item by
// item, the grid checked, then expanded into `paci train` command lines. Input: up to six lines,
// schedules, accum, lr (comma-separated), then seeds, stages, jobs. Beyond "no crash", it checks
// what the study relies on: the point count is the lists' product, every name is distinct, and
// every --lr and --accum word reads back as the value it came from (issue 25: a study pooled two
// points that printed alike as two seeds of one).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "study/study_grid.h"

namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (lines.size() < 6) {
    const size_t nl = text.find('\n', start);
    lines.push_back(text.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  while (lines.size() < 6) lines.emplace_back();
  return lines;
}

// A number line as CLI11 would give it to the study (stoul-like, bounded to the field's type).
uint64_t Number(const std::string& s, uint64_t fallback) {
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos) return fallback;
  return std::strtoull(s.c_str(), nullptr, 10);
}

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string> line = Lines(std::string(reinterpret_cast<const char*>(data), size));
  paci::Result<std::vector<std::string>> schedules =
      paci::study::ReadScheduleList(paci::study::SplitList(line[0]));
  paci::Result<std::vector<uint32_t>> accum = paci::study::ReadAccumList(paci::study::SplitList(line[1]));
  paci::Result<std::vector<double>> lr = paci::study::ReadLrList(paci::study::SplitList(line[2]));
  if (!schedules.ok() || !accum.ok() || !lr.ok()) return 0;
  paci::study::GridFlags f;
  f.schedules = *schedules;
  f.accum = *accum;
  f.lr = *lr;
  f.seeds = static_cast<uint32_t>(Number(line[3], 1) & 0xffffffffu);
  f.stages = static_cast<uint32_t>(Number(line[4], 4) & 0xffffffffu);
  f.jobs = static_cast<int>(Number(line[5], 1) & 0x7fffffff);
  if (!paci::study::CheckGridFlags(f).ok()) return 0;
  const uint64_t points = f.schedules.size() * f.accum.size() * f.lr.size() * uint64_t{f.seeds};
  Check(points >= 1 && points <= paci::study::kMaxStudyPoints);
  if (points > 2048) return 0;  // expansion is linear in the points; keep each input fast
  const std::vector<paci::study::GridPoint> grid = paci::study::ExpandGrid(f, "fuzz.db", {"--layers", "2"});
  Check(grid.size() == points);
  std::set<std::string> names;
  for (const paci::study::GridPoint& p : grid) {
    Check(names.insert(p.name).second);
    for (size_t i = 1; i + 1 < p.args.size(); ++i) {
      if (p.args[i] == "--lr") {
        const double v = std::strtod(p.args[i + 1].c_str(), nullptr);
        bool found = false;
        for (double x : f.lr) found |= x == v;
        Check(found && std::isfinite(v));
      }
      if (p.args[i] == "--accum") Check(paci::study::ReadAccumList({p.args[i + 1]}).ok());
    }
  }
  return 0;
}
