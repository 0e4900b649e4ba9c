#include "sched/stream_builder.h"

namespace paci {

void StreamBuilder::Add(ir::OpKind kind, uint64_t mb, uint32_t chunk) {
  ir::Op* op = out_->Add();
  op->set_stage(stage_);
  op->set_chunk(chunk);
  op->set_micro_batch(mb);
  op->set_kind(kind);
}

void StreamBuilder::Forward(uint64_t mb, uint32_t chunk) {
  if (!FirstVirtual(chunk)) Add(ir::RECV_ACTIVATION, mb, chunk);
  Add(ir::FORWARD, mb, chunk);
  if (!LastVirtual(chunk)) Add(ir::SEND_ACTIVATION, mb, chunk);
}

void StreamBuilder::BackwardKind(ir::OpKind kind, uint64_t mb, uint32_t chunk) {
  if (!LastVirtual(chunk)) Add(ir::RECV_GRAD, mb, chunk);
  Add(kind, mb, chunk);
  if (!FirstVirtual(chunk)) Add(ir::SEND_GRAD, mb, chunk);
}

void StreamBuilder::Backward(uint64_t mb, uint32_t chunk) { BackwardKind(ir::BACKWARD, mb, chunk); }

void StreamBuilder::BackwardInput(uint64_t mb, uint32_t chunk) {
  BackwardKind(ir::BACKWARD_INPUT, mb, chunk);
}

void StreamBuilder::BackwardWeight(uint64_t mb, uint32_t chunk) {
  Add(ir::BACKWARD_WEIGHT, mb, chunk);
}

void StreamBuilder::OptimizerStep(uint64_t last_mb) { Add(ir::OPTIMIZER_STEP, last_mb, 0); }

}  // namespace paci
