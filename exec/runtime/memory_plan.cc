#include "exec/runtime/memory_plan.h"

#include <algorithm>

#include "sched/expanded_schedule.h"
#include "sched/op_messages.h"
#include "sched/weight_version_analysis.h"

namespace paci::exec {
namespace {

// Messages a stage holds at once, walking its stream as the CPU backend plays it: a receive
// holds a buffer until the op that consumes it ends; a compute op takes an output buffer first
// (the last stage's forward too: it gives it back at once) and keeps it until the send.
uint32_t PeakMessages(const ir::Schedule& schedule, uint32_t stage, uint64_t id_base) {
  const uint32_t P = schedule.spec().stages(), V = schedule.spec().chunks();
  int64_t held = 0, peak = 0;
  for (StageOpCursor c(schedule.streams(stage), id_base); !c.Done(); c.Next()) {
    const PlainOp& op = c.Current();
    if (IsRecv(op.kind)) {
      peak = std::max(peak, ++held);
    } else if (IsSend(op.kind)) {
      --held;
    } else if (op.kind == ir::FORWARD || op.kind == ir::BACKWARD || op.kind == ir::BACKWARD_INPUT) {
      peak = std::max(peak, ++held);  // the output buffer, while the input is still held
      const bool forward = op.kind == ir::FORWARD;
      if (forward ? !IsFirstVirtual(op, P) : !IsLastVirtual(op, P, V)) --held;  // input consumed
      if (forward ? IsLastVirtual(op, P, V) : IsFirstVirtual(op, P)) --held;    // nothing to send
    }
  }
  return static_cast<uint32_t>(peak) + 1;  // + the buffer a receive fills before it is filed
}

}  // namespace

Result<std::vector<StageMemoryPlan>> PlanStageMemory(const ir::Schedule& schedule) {
  Result<WeightVersionReport> report = AnalyzeWeightVersions(schedule);
  if (!report.ok()) return report.status();
  const uint32_t V = schedule.spec().chunks();
  const std::vector<uint64_t> bases = StageIdBases(schedule);
  std::vector<StageMemoryPlan> plans;
  for (const StageVersionStats& s : report->stages) {
    StageMemoryPlan p;
    p.records_per_chunk = s.peak_records_per_chunk;
    p.records_per_chunk.resize(V, 0);
    p.messages = PeakMessages(schedule, s.stage, bases[s.stage]);
    p.kept_versions = s.weight_versions > 0 ? s.weight_versions - 1 : 0;
    // 2BW copies the live weights before its step and drops the older copy after it
    // (weight_versions.h), so for the length of the step it holds one copy more than the analysis'
    // count, taken between ops.
    if (s.policy == ir::DOUBLE_BUFFER) ++p.kept_versions;
    plans.push_back(std::move(p));
  }
  return plans;
}

}  // namespace paci::exec
