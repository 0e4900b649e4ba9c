#include "sched/schedule_grid.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "proto/ir_names.h"

namespace paci {
namespace {

std::string Label(const PlainOp& op, uint32_t chunks) {
  std::string label = fmt::format("{}{}", OpKindCode(op.kind), op.micro_batch);
  if (chunks > 1) label += fmt::format(".{}", op.chunk);
  return label;
}

}  // namespace

Result<std::string> FormatScheduleGrid(const ir::Schedule& schedule, const UnitCosts& costs) {
  Result<UnitTimeline> timeline = ComputeUnitTimeline(schedule, costs);
  if (!timeline.ok()) return timeline.status();
  const uint32_t V = schedule.spec().chunks();
  const int64_t T = timeline->makespan;
  // cells[s][t] = label of the op running on stage s during unit t.
  std::vector<std::vector<std::string>> cells(timeline->stages.size(), std::vector<std::string>(T, "."));
  size_t width = 1;
  std::vector<int64_t> busy(timeline->stages.size(), 0);
  for (size_t s = 0; s < timeline->stages.size(); ++s) {
    for (const TimedOp& t : timeline->stages[s]) {
      if (t.op.kind == ir::OPTIMIZER_STEP && t.end == t.start) continue;
      const std::string label = t.op.kind == ir::OPTIMIZER_STEP ? "OPT" : Label(t.op, V);
      width = std::max(width, label.size());
      for (int64_t u = t.start; u < t.end; ++u) cells[s][u] = label;
      busy[s] += t.end - t.start;
    }
  }
  std::string out =
      fmt::format("# {} P={}: unit-time grid, F={} B={} I={} W={} OPT={} units; '.' idle; makespan {}\n",
                  ScheduleName(schedule.spec().kind()), schedule.spec().stages(), costs.forward,
                  costs.backward, costs.backward_input, costs.backward_weight, costs.optimizer, T);
  std::string header = "time    ";
  for (int64_t u = 0; u < T; u += 5)
    header += fmt::format("{:<{}}", u, std::min<int64_t>(5, T - u) * (width + 1));
  out += header + "\n";
  for (size_t s = 0; s < cells.size(); ++s) {
    std::string row = fmt::format("{:<8}", fmt::format("stage {}", s));
    for (const std::string& cell : cells[s]) row += fmt::format("{:<{}}", cell, width + 1);
    out += row + fmt::format("| busy {}/{}\n", busy[s], T);
  }
  return out;
}

}  // namespace paci
