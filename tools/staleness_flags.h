// The `--staleness NAME[=X]` flag (sched/staleness.h) the commands share: `paci simulate`,
// `predict` and `schedule --analyze` here, `train` and `study` as the lead wires them. One reading:
// a name the parser knows, and a compensation that applies to the schedule it would run on.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <string_view>

#include "paci.pb.h"
#include "proto/status.h"
#include "sched/staleness.h"

namespace paci::cli {

// Adds `--staleness NAME[=X]` to `cmd`, read into `*text` (empty: not given, i.e. none).
void AddStalenessOption(CLI::App* cmd, std::string* text);

// The compensation `text` names, checked against `schedule` (which must be valid): a kind that
// needs drift on a schedule with none, delay-comp without a stale gradient, rewind or predict on
// PipeMare are refused. Errors start with "--staleness:"; the callers exit kExitBadInput (2).
Result<Staleness> StalenessFromFlag(const std::string& text, const ir::Schedule& schedule);

// The same check for a compensation given another way (a schedule variant), on the schedule
// `spec` generates; errors start with `flag`.
Status StalenessAppliesTo(const Staleness& s, const ir::PipelineSpec& spec, std::string_view flag);

// "paci" or "paci+rewind=1" as a list flag names a schedule (`paci sweep --schedules`, the lead's
// study grid): an unknown schedule or compensation is refused, the error starting with `flag`.
Result<ScheduleVariant> ScheduleVariantFromFlag(std::string_view text, std::string_view flag);

}  // namespace paci::cli
