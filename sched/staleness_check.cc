// See staleness_check.h.
#include "sched/staleness_check.h"

#include <fmt/format.h>

#include <algorithm>

#include "proto/ir_names.h"
#include "sched/weight_version_analysis.h"

namespace paci {

Status CheckStalenessApplies(const Staleness& s, const ir::Schedule& schedule, std::string_view flag) {
  if (!s.on()) return Status::Ok();
  Result<WeightVersionReport> report = AnalyzeWeightVersions(schedule);
  if (!report.ok()) return Status::Internal(fmt::format("{}: {}", flag, report.status().message()));
  return CheckStalenessApplies(s, schedule, *report, flag);
}

Status CheckStalenessApplies(const Staleness& s, const ir::Schedule& schedule,
                             const WeightVersionReport& report, std::string_view flag) {
  if (!s.on()) return Status::Ok();
  const std::string name(ScheduleName(schedule.spec().kind())), text = StalenessText(s);
  if (ConflictsWithPipeMare(s.kind) && schedule.spec().kind() == ir::PIPEMARE)
    return Status::InvalidArgument(fmt::format(
        "{}: {} does not apply to pipemare, whose backward already runs at its own estimate of the forward's "
        "weights (w - d x delta)",
        flag, text));
  int64_t drift = 0, stale = 0;
  for (const StageVersionStats& st : report.stages) {
    drift = std::max(drift, st.max_drift);
    stale = std::max(stale, st.max_gradient_staleness);
  }
  if (NeedsDrift(s.kind) && drift == 0)
    return Status::InvalidArgument(fmt::format(
        "{}: {} does not apply to {}: no micro-batch's weights change between its forward and backward", flag,
        text, name));
  if (NeedsStaleGradient(s.kind) && stale == 0)
    return Status::InvalidArgument(
        fmt::format("{}: {} does not apply to {}: no gradient is applied to weights newer than its forward's",
                    flag, text, name));
  return Status::Ok();
}

}  // namespace paci
