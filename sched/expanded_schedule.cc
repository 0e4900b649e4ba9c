#include "sched/expanded_schedule.h"

namespace paci {

uint64_t StageLength(const ir::StageStream& s) {
  return s.prefix_size() + s.body_size() * s.body_repeats() + s.suffix_size();
}

std::vector<uint64_t> StageIdBases(const ir::Schedule& schedule) {
  std::vector<uint64_t> bases{0};
  for (const auto& stream : schedule.streams()) bases.push_back(bases.back() + StageLength(stream));
  return bases;
}

StageOpCursor::StageOpCursor(const ir::StageStream& stream, uint64_t id_base)
    : stream_(&stream), id_base_(id_base) {
  Settle();
}

void StageOpCursor::Settle() {
  for (;;) {
    const ir::Op* op = nullptr;
    uint64_t offset = 0;
    if (section_ == 0 && index_ < stream_->prefix_size()) {
      op = &stream_->prefix(index_);
    } else if (section_ == 1 && repeat_ < stream_->body_repeats() && index_ < stream_->body_size()) {
      op = &stream_->body(index_);
      offset = repeat_ * stream_->body_stride();
    } else if (section_ == 2 && index_ < stream_->suffix_size()) {
      op = &stream_->suffix(index_);
    } else if (section_ == 1 && repeat_ + 1 < stream_->body_repeats() && stream_->body_size() > 0) {
      ++repeat_;
      index_ = 0;
      continue;
    } else if (section_ < 3) {
      ++section_;
      index_ = 0;
      continue;
    } else {
      return;
    }
    current_ = PlainOp{id_base_ + position_, op->stage(), op->chunk(), op->micro_batch() + offset,
                       op->kind()};
    return;
  }
}

void StageOpCursor::Next() {
  ++index_;
  ++position_;
  Settle();
}

std::vector<std::vector<PlainOp>> ExpandSchedule(const ir::Schedule& schedule) {
  std::vector<std::vector<PlainOp>> out;
  const std::vector<uint64_t> bases = StageIdBases(schedule);
  for (int s = 0; s < schedule.streams_size(); ++s) {
    std::vector<PlainOp>& ops = out.emplace_back();
    ops.reserve(StageLength(schedule.streams(s)));
    for (StageOpCursor c(schedule.streams(s), bases[s]); !c.Done(); c.Next()) ops.push_back(c.Current());
  }
  return out;
}

ir::Op ToProto(const PlainOp& op) {
  ir::Op out;
  out.set_id(op.id);
  out.set_stage(op.stage);
  out.set_chunk(op.chunk);
  out.set_micro_batch(op.micro_batch);
  out.set_kind(op.kind);
  return out;
}

ir::Schedule ToExplicit(const ir::Schedule& schedule) {
  ir::Schedule out;
  out.set_ir_version(schedule.ir_version());
  *out.mutable_spec() = schedule.spec();
  const auto expanded = ExpandSchedule(schedule);
  for (int s = 0; s < schedule.streams_size(); ++s) {
    ir::StageStream& stream = *out.add_streams();
    stream.set_stage(schedule.streams(s).stage());
    stream.set_weight_policy(schedule.streams(s).weight_policy());
    for (const PlainOp& op : expanded[s]) *stream.add_prefix() = ToProto(op);
  }
  return out;
}

}  // namespace paci
