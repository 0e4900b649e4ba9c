// The shared `--staleness` flag. See staleness_flags.h.
#include "tools/staleness_flags.h"

#include <fmt/format.h>

#include "proto/ir_names.h"
#include "sched/schedule_generator.h"
#include "sched/staleness_check.h"
#include "sched/weight_version_analysis.h"

namespace paci::cli {

void AddStalenessOption(CLI::App* cmd, std::string* text) {
  cmd->add_option("--staleness", *text,
                  "staleness compensation NAME[=X], NAME one of " + StalenessNames() +
                      " (X defaults to 1); refused on a schedule it does not apply to");
}

Result<Staleness> StalenessFromFlag(const std::string& text, const ir::Schedule& schedule) {
  if (text.empty()) return Staleness{};
  Result<Staleness> s = ParseStaleness(text, "--staleness");
  if (!s.ok() || !s->on()) return s;
  PACI_RETURN_IF_ERROR(CheckStalenessApplies(*s, schedule, "--staleness"));
  return s;
}

Status StalenessAppliesTo(const Staleness& s, const ir::PipelineSpec& spec, std::string_view flag) {
  if (!s.on()) return Status::Ok();
  Result<ir::Schedule> schedule = GenerateSchedule(spec);
  if (!schedule.ok())
    return Status::InvalidArgument(fmt::format("{}: {}", flag, schedule.status().message()));
  return CheckStalenessApplies(s, *schedule, flag);
}

Result<ScheduleVariant> ScheduleVariantFromFlag(std::string_view text, std::string_view flag) {
  Result<ScheduleVariant> v = ParseScheduleVariant(text);
  if (!v.ok()) return Status::InvalidArgument(fmt::format("{}: {}", flag, v.status().message()));
  return v;
}

}  // namespace paci::cli
