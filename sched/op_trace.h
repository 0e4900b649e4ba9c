// What every engine (simulator, CPU and GPU executors) reports for one op: the TraceEvent built in
// one place, the lane an op kind occupies, and a dense index of the compute kinds for per-kind
// tables (mean times, counts).
#pragma once

#include <cstdint>

#include "paci.pb.h"
#include "sched/expanded_schedule.h"
#include "sched/op_messages.h"

namespace paci {

inline ir::Lane LaneOf(ir::OpKind kind) {
  return IsSend(kind) ? ir::LANE_SEND : IsRecv(kind) ? ir::LANE_RECV : ir::LANE_COMPUTE;
}

// F, B, I, W, OPT -> 0..4; -1 for sends and receives.
constexpr int kComputeKinds = 5;
inline int ComputeKindIndex(ir::OpKind kind) {
  switch (kind) {
    case ir::FORWARD: return 0;
    case ir::BACKWARD: return 1;
    case ir::BACKWARD_INPUT: return 2;
    case ir::BACKWARD_WEIGHT: return 3;
    case ir::OPTIMIZER_STEP: return 4;
    default: return -1;
  }
}

// Fills `e` (reused by hot loops to avoid allocation) with one op's record.
inline void FillTraceEvent(const PlainOp& op, int64_t start_ns, int64_t end_ns, int64_t weight_version,
                           uint64_t live_bytes, ir::TraceEvent* e) {
  e->set_op_id(op.id);
  e->set_stage(op.stage);
  e->set_start_ns(start_ns);
  e->set_end_ns(end_ns);
  e->set_weight_version(weight_version);
  e->set_live_bytes(live_bytes);
  e->set_kind(op.kind);
  e->set_micro_batch(op.micro_batch);
  e->set_chunk(op.chunk);
  e->set_lane(LaneOf(op.kind));
}

}  // namespace paci
