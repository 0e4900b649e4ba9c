// Unit-time timeline of a schedule, for drawing (`paci schedule --format grid`) and for quick
// checks of the generated orders against docs/method.md's closed forms. Each stage runs its compute ops
// in stream order, each as soon as the op it depends on has ended (F after F on the previous virtual
// stage, B/I after B/I on the next, W after its I). Communication is free. Not a simulator: sim/
// models real costs, links and jitter.
#pragma once

#include <cstdint>
#include <vector>

#include "paci.pb.h"
#include "proto/status.h"
#include "sched/expanded_schedule.h"

namespace paci {

struct UnitCosts {
  int64_t forward = 1;
  int64_t backward = 2;          // B = I + W
  int64_t backward_input = 1;
  int64_t backward_weight = 1;
  int64_t optimizer = 0;
};

struct TimedOp {
  PlainOp op;
  int64_t start = 0;
  int64_t end = 0;
};

struct UnitTimeline {
  std::vector<std::vector<TimedOp>> stages;  // compute and OPT ops only, in stream order
  int64_t makespan = 0;
};

// Fails (naming the blocked stages) if the streams cannot all run to the end.
Result<UnitTimeline> ComputeUnitTimeline(const ir::Schedule& schedule, const UnitCosts& costs = {});

}  // namespace paci
