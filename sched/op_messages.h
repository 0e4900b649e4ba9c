// Which message a send or receive op carries, so sends and receives can be paired across stages.
// Virtual stage v = chunk * P + stage (interleaved 1F1B); activations flow v -> v+1 and gradients
// v -> v-1. A SEND and a RECV pair up exactly when their MessageKeys are equal.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>

#include "sched/expanded_schedule.h"

namespace paci {

struct MessageKey {
  bool is_grad = false;
  uint64_t micro_batch = 0;
  uint32_t from_virtual = 0;
  uint32_t to_virtual = 0;
  // Ordered, so transports and engines can key maps by it directly.
  auto operator<=>(const MessageKey&) const = default;
};

inline uint32_t VirtualStage(uint32_t stage, uint32_t chunk, uint32_t stages) {
  return chunk * stages + stage;
}
inline uint32_t VirtualStageOf(const PlainOp& op, uint32_t stages) {
  return VirtualStage(op.stage, op.chunk, stages);
}

inline bool IsFirstVirtual(const PlainOp& op, uint32_t stages) { return VirtualStageOf(op, stages) == 0; }
// chunks: V of a normalized spec (>= 1, sched/pipeline_spec.h), here and below.
inline bool IsLastVirtual(const PlainOp& op, uint32_t stages, uint32_t chunks) {
  return VirtualStageOf(op, stages) + 1 == stages * chunks;
}

// Stage and chunk that hold virtual stage v.
struct StageChunk {
  uint32_t stage;
  uint32_t chunk;
};
inline StageChunk StageChunkOf(uint32_t virtual_stage, uint32_t stages) {
  return {virtual_stage % stages, virtual_stage / stages};
}

inline bool IsSend(ir::OpKind k) { return k == ir::SEND_ACTIVATION || k == ir::SEND_GRAD; }
inline bool IsRecv(ir::OpKind k) { return k == ir::RECV_ACTIVATION || k == ir::RECV_GRAD; }
inline bool IsMessageOp(ir::OpKind k) { return IsSend(k) || IsRecv(k); }
inline bool IsCompute(ir::OpKind k) {
  return k == ir::FORWARD || k == ir::BACKWARD || k == ir::BACKWARD_INPUT || k == ir::BACKWARD_WEIGHT ||
         k == ir::OPTIMIZER_STEP;
}

// The message of a send/receive op; nullopt for other ops or for a message that would leave the
// pipeline (a send past the last virtual stage or before the first). Inline: the simulator calls
// it for every send and receive it plays, and a call per message cost it ~4% (issue 28).
inline std::optional<MessageKey> MessageOf(const PlainOp& op, uint32_t stages, uint32_t chunks) {
  const int64_t v = VirtualStageOf(op, stages);
  const int64_t last = int64_t{stages} * chunks - 1;
  int64_t from = 0, to = 0;
  bool grad = false;
  switch (op.kind) {
    case ir::SEND_ACTIVATION:
      from = v;
      to = v + 1;
      break;
    case ir::RECV_ACTIVATION:
      from = v - 1;
      to = v;
      break;
    case ir::SEND_GRAD:
      from = v;
      to = v - 1;
      grad = true;
      break;
    case ir::RECV_GRAD:
      from = v + 1;
      to = v;
      grad = true;
      break;
    default: return std::nullopt;
  }
  if (from < 0 || to < 0 || from > last || to > last) return std::nullopt;
  return MessageKey{grad, op.micro_batch, static_cast<uint32_t>(from), static_cast<uint32_t>(to)};
}

}  // namespace paci
