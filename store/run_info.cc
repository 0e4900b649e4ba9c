#include "store/run_info.h"

#include <fmt/format.h>

#include <algorithm>

#include "proto/ir_names.h"
#include "proto/run_setup.h"

namespace paci::store {

const char* RunKindName(RunKind kind) { return kind == RunKind::kPredicted ? "predicted" : "measured"; }

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

const char* OpStorageName(OpStorage storage) {
  return storage == OpStorage::kReplayed ? "replayed" : "stored";
}

std::optional<OpStorage> ParseOpStorage(const std::string& name) {
  if (name == "stored") return OpStorage::kStored;
  if (name == "replayed") return OpStorage::kReplayed;
  return std::nullopt;
}

void FillConfigFromRun(RunKind kind, const ir::PipelineSpec& spec, const std::optional<ir::CostModel>& cost,
                       RunConfig* c) {
  if (spec.stages() > 0) {
    if (c->schedule.empty()) c->schedule = ScheduleName(spec.kind());
    if (!c->stages) c->stages = spec.stages();
    // K is micro-batches per optimizer update: M for a flush schedule, accum for the others.
    const uint32_t m = spec.microbatches_per_iteration();
    const uint32_t k = IsFlushSchedule(spec.kind()) && m > 0 ? m : spec.accum();
    if (!c->accum && k > 0) c->accum = k;
  }
  if (cost && cost->tokens_per_microbatch() > 0 && c->accum && !c->tokens_per_update) {
    // A micro-batch of the cost model's tokens, K of them per update.
    c->tokens_per_update = TokensPerUpdate(1, static_cast<int64_t>(cost->tokens_per_microbatch()), *c->accum);
  }
  if (kind == RunKind::kPredicted) {
    if (c->device.empty()) c->device = "simulator";
    // The jitter seed, where there is jitter: without it the seed changes nothing.
    if (!c->seed && cost && cost->jitter().cv() > 0) c->seed = static_cast<int64_t>(cost->jitter().seed());
  }
}

void FillConfigFromSetup(const ir::RunSetup& setup, RunConfig* c) {
  auto positive = [](int64_t v) -> std::optional<int64_t> {
    return v > 0 ? std::optional<int64_t>(v) : std::nullopt;
  };
  if (!c->microbatch_size) c->microbatch_size = positive(setup.microbatch_size());
  if (!c->accum) c->accum = positive(setup.accum());
  if (!c->seed && setup.has_seed()) c->seed = static_cast<int64_t>(setup.seed());
  if (!c->lr && setup.lr() != 0) c->lr = setup.lr();
  if (!c->tokens_per_update) c->tokens_per_update = positive(static_cast<int64_t>(setup.tokens_per_update()));
}

Status CheckRunData(const RunData& run, const std::string& source) {
  const ir::PipelineSpec& spec = run.record.info.spec;
  const uint32_t stages = spec.stages() > 0 ? std::min(spec.stages(), kMaxRunStages) : kMaxRunStages;
  const uint32_t chunks = std::max(1u, spec.chunks());
  for (const ir::TraceEvent& e : run.ops) {
    if (e.stage() >= stages)
      return Status::InvalidArgument(fmt::format("{}: op {} names stage {}, but the run has {} stages",
                                                 source, e.op_id(), e.stage(), stages));
    if (spec.stages() > 0 && e.chunk() >= chunks)
      return Status::InvalidArgument(fmt::format("{}: op {} names chunk {}, but the run has {} chunks",
                                                 source, e.op_id(), e.chunk(), chunks));
    if (e.end_ns() < e.start_ns())
      return Status::InvalidArgument(fmt::format("{}: op {} ends ({} ns) before it starts ({} ns)", source,
                                                 e.op_id(), e.end_ns(), e.start_ns()));
  }
  for (const ir::MemorySample& m : run.memory)
    if (m.stage() >= stages)
      return Status::InvalidArgument(fmt::format(
          "{}: a memory sample names stage {}, but the run has {} stages", source, m.stage(), stages));
  return Status::Ok();
}

}  // namespace paci::store
