#include "store/run_info.h"

#include <algorithm>

#include <fmt/format.h>

namespace paci::store {

const char* RunKindName(RunKind kind) {
  return kind == RunKind::kPredicted ? "predicted" : "measured";
}

const char* RunStatusName(RunStatus status) {
  switch (status) {
    case RunStatus::kRunning: return "running";
    case RunStatus::kComplete: return "complete";
    case RunStatus::kFailed: return "failed";
  }
  return "?";
}

const char* RunStateName(RunState state) {
  switch (state) {
    case RunState::kRunning: return "running";
    case RunState::kIncomplete: return "incomplete";
    case RunState::kComplete: return "complete";
    case RunState::kFailed: return "failed";
  }
  return "?";
}

std::optional<RunKind> ParseRunKind(const std::string& name) {
  if (name == "predicted") return RunKind::kPredicted;
  if (name == "measured") return RunKind::kMeasured;
  return std::nullopt;
}

std::optional<RunStatus> ParseRunStatus(const std::string& name) {
  if (name == "running") return RunStatus::kRunning;
  if (name == "complete") return RunStatus::kComplete;
  if (name == "failed") return RunStatus::kFailed;
  return std::nullopt;
}

Status CheckRunData(const RunData& run, const std::string& source) {
  const ir::PipelineSpec& spec = run.record.info.spec;
  const uint32_t stages = spec.stages() > 0 ? std::min(spec.stages(), kMaxRunStages) : kMaxRunStages;
  const uint32_t chunks = std::max(1u, spec.chunks());
  for (const ir::TraceEvent& e : run.ops) {
    if (e.stage() >= stages)
      return Status::InvalidArgument(fmt::format("{}: op {} names stage {}, but the run has {} stages", source,
                                                 e.op_id(), e.stage(), stages));
    if (spec.stages() > 0 && e.chunk() >= chunks)
      return Status::InvalidArgument(fmt::format("{}: op {} names chunk {}, but the run has {} chunks", source,
                                                 e.op_id(), e.chunk(), chunks));
    if (e.end_ns() < e.start_ns())
      return Status::InvalidArgument(fmt::format("{}: op {} ends ({} ns) before it starts ({} ns)", source,
                                                 e.op_id(), e.end_ns(), e.start_ns()));
  }
  for (const ir::MemorySample& m : run.memory)
    if (m.stage() >= stages)
      return Status::InvalidArgument(fmt::format("{}: a memory sample names stage {}, but the run has {} stages",
                                                 source, m.stage(), stages));
  return Status::Ok();
}

}  // namespace paci::store
