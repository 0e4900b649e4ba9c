#include "store/run_info.h"

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

}  // namespace paci::store
