#include "sched/op_messages.h"

namespace paci {

std::optional<MessageKey> MessageOf(const PlainOp& op, uint32_t stages, uint32_t chunks) {
  const int64_t v = VirtualStageOf(op, stages);
  const int64_t last = int64_t{stages} * (chunks == 0 ? 1 : chunks) - 1;
  int64_t from = 0, to = 0;
  bool grad = false;
  switch (op.kind) {
    case ir::SEND_ACTIVATION: from = v; to = v + 1; break;
    case ir::RECV_ACTIVATION: from = v - 1; to = v; break;
    case ir::SEND_GRAD: from = v; to = v - 1; grad = true; break;
    case ir::RECV_GRAD: from = v + 1; to = v; grad = true; break;
    default: return std::nullopt;
  }
  if (from < 0 || to < 0 || from > last || to > last) return std::nullopt;
  return MessageKey{grad, op.micro_batch, static_cast<uint32_t>(from), static_cast<uint32_t>(to)};
}

}  // namespace paci
