// StageMemoryPlan: how many micro-batch records and message buffers one stage's backend keeps,
// derived once from the schedule IR before the first op, so the backend allocates them up front
// and reuses them: no heap allocation and no page fault per op in the steady state.
#pragma once

#include <cstdint>
#include <vector>

#include "paci.pb.h"
#include "proto/status.h"

namespace paci::exec {

struct StageMemoryPlan {
  // Micro-batch records (saved activations, then the output-gradients a split W needs), by chunk:
  // the weight-version analysis' peak_records_per_chunk, the count `paci schedule --analyze` and
  // the simulator report as in-flight activations (plus pending W for split backwards).
  std::vector<uint32_t> records_per_chunk;
  // Activation and gradient buffers the stage holds at once: received and not yet consumed,
  // produced and not yet sent, plus the one a receive is filling.
  uint32_t messages = 0;
  // Weight copies besides the live weights (PipeDream's stash, 2BW's older buffer): the
  // analysis' weight versions held at once, minus the live one (plus 2BW's copy during its step).
  uint32_t kept_versions = 0;
  // A benchmark's control, never set in training: records handed out least recently used first
  // (SlotTable), so that every forward writes a record the caches have lost, as GPipe's do.
  bool rotate_records = false;
};

// One plan per stage; fails where the analysis does (a schedule ValidateSchedule refuses).
Result<std::vector<StageMemoryPlan>> PlanStageMemory(const ir::Schedule& schedule);

}  // namespace paci::exec
