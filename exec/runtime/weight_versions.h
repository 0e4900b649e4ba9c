// WeightVersions: which weight versions one pipeline stage keeps and which each forward and
// backward uses, by the schedule's weight policy (the rule is sched/weight_version_rule.h):
//   SYNC_AFTER_FLUSH, LIVE_BOUNDED_DRIFT (flush schedules, PACI, PipeMare): the live weights only;
//   STASH (PipeDream): a copy of every version an in-flight forward used;
//   DOUBLE_BUFFER (2BW): the live version and the one below it.
// Bookkeeping only: the backend (stage_backend.h) stores the copies it is told to keep and drop.
#pragma once

#include <cstdint>
#include <vector>

#include "paci.pb.h"

namespace paci::exec {

class WeightVersions {
 public:
  WeightVersions(ir::WeightPolicy policy, uint32_t accum) : policy_(policy), accum_(accum == 0 ? 1 : accum) {
    // Past the first updates these hold a handful; reserving now keeps their growth out of them.
    forward_version_.reserve(64), kept_.reserve(16), dropped_.reserve(16);
  }

  int64_t live() const { return live_; }
  // The version the forward of (mb, chunk) uses; recorded for its backward.
  int64_t BeginForward(uint64_t mb, uint32_t chunk);
  int64_t ForwardVersion(uint64_t mb, uint32_t chunk) const;  // -1 when not in flight
  int64_t BackwardVersion(uint64_t mb, uint32_t chunk) const;
  // The backward of (mb, chunk) is complete; returns the kept versions no longer needed (valid
  // until the next call: a buffer reused, so the steady state allocates nothing).
  const std::vector<int64_t>& EndBackward(uint64_t mb, uint32_t chunk);
  // Before an optimizer step: whether the live version must be kept as a copy. After it: the
  // kept versions no longer needed (as EndBackward's).
  bool KeepBeforeStep();
  const std::vector<int64_t>& AfterStep();
  // Versions held right now: the live one and the copies.
  int VersionsHeld() const { return 1 + static_cast<int>(kept_.size()); }

 private:
  bool InUse(int64_t version) const;

  ir::WeightPolicy policy_;
  uint32_t accum_;
  int64_t live_ = 0;
  // In flight: (micro-batch, chunk, forward version). A handful, so flat vectors searched
  // linearly; their capacity is reused instead of a tree node per micro-batch.
  struct InFlight {
    uint64_t mb;
    uint32_t chunk;
    int64_t version;
  };
  std::vector<InFlight> forward_version_;
  std::vector<int64_t> kept_;     // ascending
  std::vector<int64_t> dropped_;  // what the last EndBackward / AfterStep returned
};

}  // namespace paci::exec
