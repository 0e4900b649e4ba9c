// OpDependencies: what an op waits for and what waits for it, for the timeline's selection.
// Program order comes from op ids (dense and stage-major, so id-1 is the previous op of the same
// stage); cross-stage edges pair each send with its receive through sched/op_messages.h.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "gui/model/trace_index.h"

namespace paci::gui {

struct OpEdges {
  std::vector<size_t> before;  // indices into TraceIndex::ops() this op depends on
  std::vector<size_t> after;   // ops that depend on it
};

class OpDependencies {
 public:
  // chunks: V of the run's spec (0 or 1 when not interleaved).
  OpDependencies(const TraceIndex& index, uint32_t chunks);

  // Direct edges plus the far end of an adjacent send/receive, so clicking F(n) on stage s shows
  // the F(n) of stage s-1 it waits for and the F(n) of stage s+1 that waits for it.
  OpEdges Edges(size_t op) const;

 private:
  int64_t Partner(size_t op) const;     // paired send or receive, or -1
  int64_t SameStage(size_t op, int delta) const;

  const TraceIndex& index_;
  std::unordered_map<size_t, size_t> partner_;
};

}  // namespace paci::gui
