// Whether a staleness compensation (staleness.h) means anything for a schedule: the check every
// tool makes before it trains or simulates one, so `paci train`, `paci study`, `paci simulate` and
// `paci sweep` refuse the same cases with the same words.
#pragma once

#include <string_view>

#include "paci.pb.h"
#include "proto/status.h"
#include "sched/staleness.h"
#include "sched/weight_version_analysis.h"

namespace paci {

// InvalidArgument naming `flag` when `s` needs drift (or a stale gradient) the schedule never has,
// or conflicts with PipeMare's own correction; Internal when the schedule cannot be analysed.
Status CheckStalenessApplies(const Staleness& s, const ir::Schedule& schedule, std::string_view flag);
// The same with the schedule's analysis already made.
Status CheckStalenessApplies(const Staleness& s, const ir::Schedule& schedule,
                             const WeightVersionReport& report, std::string_view flag);

}  // namespace paci
