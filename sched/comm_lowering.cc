#include "sched/comm_lowering.h"

#include <algorithm>

#include "sched/expanded_schedule.h"
#include "sched/op_messages.h"
#include "sched/stream_builder.h"

namespace paci {
namespace {

void AssignIds(ir::Schedule& schedule) {
  uint64_t id = 0;
  for (auto& stream : *schedule.mutable_streams())
    for (ir::Op& op : *stream.mutable_prefix()) op.set_id(id++);
}

ir::Schedule Rebuild(const ir::Schedule& schedule, bool with_comms) {
  ir::Schedule out;
  out.set_ir_version(schedule.ir_version());
  *out.mutable_spec() = schedule.spec();
  const uint32_t P = schedule.spec().stages(), V = schedule.spec().chunks();
  const auto expanded = ExpandSchedule(schedule);
  for (int s = 0; s < schedule.streams_size(); ++s) {
    ir::StageStream& stream = *out.add_streams();
    stream.set_stage(schedule.streams(s).stage());
    stream.set_weight_policy(schedule.streams(s).weight_policy());
    StreamBuilder b(stream.stage(), P, V, stream.mutable_prefix());
    for (const PlainOp& op : expanded[s]) {
      if (IsSend(op.kind) || IsRecv(op.kind)) continue;
      if (!with_comms) {
        *stream.add_prefix() = ToProto(op);
        continue;
      }
      switch (op.kind) {
        case ir::FORWARD: b.Forward(op.micro_batch, op.chunk); break;
        case ir::BACKWARD: b.Backward(op.micro_batch, op.chunk); break;
        case ir::BACKWARD_INPUT: b.BackwardInput(op.micro_batch, op.chunk); break;
        case ir::BACKWARD_WEIGHT: b.BackwardWeight(op.micro_batch, op.chunk); break;
        default: *stream.add_prefix() = ToProto(op); break;
      }
    }
  }
  AssignIds(out);
  return out;
}

}  // namespace

ir::Schedule WithCommOps(const ir::Schedule& schedule) { return Rebuild(schedule, true); }
ir::Schedule WithoutCommOps(const ir::Schedule& schedule) { return Rebuild(schedule, false); }

}  // namespace paci
