// Expansion of the compact IR into explicit ops. PlainOp is the value type the simulator,
// executor, validator and analysis iterate over; StageOpCursor walks one stage's compact stream
// without materialising it, so a run of a billion micro-batches costs no memory.
// Op ids are dense and stage-major: stage s's ops are numbered after all ops of stages < s.
#pragma once

#include <cstdint>
#include <vector>

#include "paci.pb.h"

namespace paci {

struct PlainOp {
  uint64_t id = 0;
  uint32_t stage = 0;
  uint32_t chunk = 0;
  uint64_t micro_batch = 0;
  ir::OpKind kind = ir::OP_KIND_UNSPECIFIED;

  bool operator==(const PlainOp&) const = default;
};

// Number of ops in a stage's stream once expanded.
uint64_t StageLength(const ir::StageStream& stream);

// Id of the first op of each stage (size P + 1; the last entry is the total op count).
std::vector<uint64_t> StageIdBases(const ir::Schedule& schedule);

class StageOpCursor {
 public:
  StageOpCursor(const ir::StageStream& stream, uint64_t id_base);
  bool Done() const { return section_ == 3; }
  const PlainOp& Current() const { return current_; }
  void Next();
  // Ops consumed so far (the index of Current() in the expanded stream).
  uint64_t Position() const { return position_; }

 private:
  void Settle();  // moves to the next non-empty section and loads Current()
  const ir::StageStream* stream_;
  int section_ = 0;  // 0 prefix, 1 body, 2 suffix, 3 done
  int index_ = 0;
  uint64_t repeat_ = 0;
  uint64_t position_ = 0;
  uint64_t id_base_;
  PlainOp current_;
};

// Every stage's ops, in stream order. Memory grows with the run: prefer StageOpCursor for long runs.
std::vector<std::vector<PlainOp>> ExpandSchedule(const ir::Schedule& schedule);

// The same schedule with every stream written out explicitly in `prefix` and ids assigned.
ir::Schedule ToExplicit(const ir::Schedule& schedule);

ir::Op ToProto(const PlainOp& op);

}  // namespace paci
