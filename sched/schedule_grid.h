// `paci schedule --format grid`: the unit-time timeline (unit_timeline.h) drawn as text, one row
// per stage, one column per time unit; a cell shows the op running there (F3, B3, I3, W3; with
// ".c" for chunk c when V > 1), '.' when the stage is idle. Multi-unit ops repeat their label.
#pragma once

#include <string>

#include "paci.pb.h"
#include "proto/status.h"
#include "sched/unit_timeline.h"

namespace paci {

Result<std::string> FormatScheduleGrid(const ir::Schedule& schedule, const UnitCosts& costs = {});

}  // namespace paci
