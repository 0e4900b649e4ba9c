#include "sched/unit_timeline.h"

#include <fmt/format.h>

#include <algorithm>

#include "sched/op_messages.h"
#include "sched/schedule_text.h"

namespace paci {
namespace {

int64_t Duration(ir::OpKind kind, const UnitCosts& c) {
  switch (kind) {
    case ir::FORWARD: return c.forward;
    case ir::BACKWARD: return c.backward;
    case ir::BACKWARD_INPUT: return c.backward_input;
    case ir::BACKWARD_WEIGHT: return c.backward_weight;
    case ir::OPTIMIZER_STEP: return c.optimizer;
    default: return 0;
  }
}

// End times of forwards and of input-gradient backwards per (virtual stage, micro-batch); -1 = not yet.
class EndTimes {
 public:
  EndTimes(uint32_t virtual_stages, uint64_t last_mb)
      : stride_(last_mb + 1), forward_(virtual_stages * stride_, -1), backward_(forward_) {}
  int64_t& Forward(uint32_t v, uint64_t n) { return forward_[v * stride_ + n]; }
  int64_t& Backward(uint32_t v, uint64_t n) { return backward_[v * stride_ + n]; }

 private:
  uint64_t stride_;
  std::vector<int64_t> forward_, backward_;
};

// Earliest start allowed by the op's dependency, or -1 while that dependency has not run.
int64_t ReadyAt(const PlainOp& op, uint32_t P, uint32_t last, EndTimes& ends) {
  const uint32_t v = VirtualStageOf(op, P);
  switch (op.kind) {
    case ir::FORWARD: return v == 0 ? 0 : ends.Forward(v - 1, op.micro_batch);
    case ir::BACKWARD:
    case ir::BACKWARD_INPUT:
      return v == last ? ends.Forward(v, op.micro_batch) : ends.Backward(v + 1, op.micro_batch);
    case ir::BACKWARD_WEIGHT: return ends.Backward(v, op.micro_batch);
    default: return 0;
  }
}

}  // namespace

Result<UnitTimeline> ComputeUnitTimeline(const ir::Schedule& schedule, const UnitCosts& costs) {
  const uint32_t P = schedule.spec().stages(), V = schedule.spec().chunks();
  const auto expanded = ExpandSchedule(schedule);
  uint64_t last_mb = 0;
  for (const auto& ops : expanded)
    for (const PlainOp& op : ops) last_mb = std::max(last_mb, op.micro_batch);
  EndTimes ends(P * V, last_mb);
  UnitTimeline timeline;
  timeline.stages.resize(expanded.size());
  std::vector<size_t> next(expanded.size(), 0);
  std::vector<int64_t> clock(expanded.size(), 0);
  for (bool progress = true, down = true; progress; down = !down) {
    progress = false;
    for (size_t i = 0; i < expanded.size(); ++i) {
      const size_t s = down ? i : expanded.size() - 1 - i;
      for (; next[s] < expanded[s].size(); ++next[s], progress = true) {
        const PlainOp& op = expanded[s][next[s]];
        if (IsSend(op.kind) || IsRecv(op.kind)) continue;
        const int64_t ready = ReadyAt(op, P, P * V - 1, ends);
        if (ready < 0) break;
        const int64_t start = std::max(clock[s], ready), end = start + Duration(op.kind, costs);
        clock[s] = end;
        timeline.stages[s].push_back(TimedOp{op, start, end});
        timeline.makespan = std::max(timeline.makespan, end);
        const uint32_t v = VirtualStageOf(op, P);
        if (op.kind == ir::FORWARD) ends.Forward(v, op.micro_batch) = end;
        if (op.kind == ir::BACKWARD || op.kind == ir::BACKWARD_INPUT) ends.Backward(v, op.micro_batch) = end;
      }
    }
  }
  for (size_t s = 0; s < expanded.size(); ++s)
    if (next[s] < expanded[s].size())
      return Status::FailedPrecondition(fmt::format(
          "stage {}: op {} (id {}) can never start: its dependency never runs (see ValidateSchedule)", s,
          OpText(expanded[s][next[s]], P), expanded[s][next[s]].id));
  return timeline;
}

}  // namespace paci
