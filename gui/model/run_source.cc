#include "gui/model/run_source.h"

#include "proto/ir_names.h"

namespace paci::gui {

const char* RunKindName(RunKind kind) { return kind == RunKind::kMeasured ? "measured" : "predicted"; }

void FillSummaryFromSpec(const ir::PipelineSpec& spec, RunSummary* s) {
  s->schedule = ScheduleName(spec.kind());
  s->stages = spec.stages();
  s->accum = spec.accum();
  s->microbatches = spec.microbatches_per_iteration();
  s->chunks = spec.chunks();
}

int64_t MemoryRunSource::Add(RunTrace trace) {
  int64_t id = trace.summary.id;
  if (id <= 0 || runs_.count(id)) id = runs_.empty() ? 1 : runs_.rbegin()->first + 1;
  trace.summary.id = id;
  trace.summary.op_count = static_cast<int64_t>(trace.ops.size());
  if (trace.summary.state.empty()) trace.summary.state = "complete";
  runs_.emplace(id, std::move(trace));
  return id;
}

Result<std::vector<RunSummary>> MemoryRunSource::ListRuns() {
  std::vector<RunSummary> out;
  for (const auto& [id, run] : runs_) out.push_back(run.summary);
  return out;
}

Result<RunTrace> MemoryRunSource::LoadRun(int64_t id, const LoadProgress& progress, LoadDetail) {
  auto it = runs_.find(id);
  if (it == runs_.end()) return Status::NotFound("memory: no run " + std::to_string(id));
  if (progress) progress(1.0);
  return it->second;
}

}  // namespace paci::gui
