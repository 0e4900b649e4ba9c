#include "tools/spec_flags.h"

#include <fmt/format.h>

#include "proto/ir_names.h"
#include "sched/pipeline_spec.h"

namespace paci::cli {

void AddSpecFlags(CLI::App* cmd, SpecFlags* flags) {
  cmd->add_option("--schedule", flags->schedule, fmt::format("{}", fmt::join(AllScheduleNames(), ", ")));
  cmd->add_option("--stages,-P", flags->stages, "pipeline stages P");
  cmd->add_option("--microbatches,-M", flags->microbatches,
                  "flush schedules: micro-batches per iteration M; asynchronous: run length");
  cmd->add_option("--accum,-K", flags->accum, "micro-batches per optimizer step K (paci, 2bw, pipemare)");
  cmd->add_option("--chunks,-V", flags->chunks, "virtual chunks per stage (interleaved-1f1b)");
  cmd->add_option("--iterations", flags->iterations, "iterations (flush: run = I*M; asynchronous: I*K)");
  cmd->add_option("--window", flags->window, "in-flight cap per stage L_0,L_1,... (asynchronous)")->delimiter(',');
}

Result<ir::ScheduleKind> ScheduleKindFromFlag(const std::string& name) {
  if (auto kind = ParseScheduleName(name)) return *kind;
  return Status::InvalidArgument(fmt::format("--schedule: unknown schedule '{}' (known: {})", name,
                                             fmt::join(AllScheduleNames(), ", ")));
}

Result<ir::PipelineSpec> SpecFromFlags(const SpecFlags& f) {
  if (f.schedule.empty()) return Status::InvalidArgument("--schedule: required (or --input FILE)");
  if (f.stages == 0) return Status::InvalidArgument("--stages: required and must be at least 1");
  Result<ir::ScheduleKind> kind = ScheduleKindFromFlag(f.schedule);
  if (!kind.ok()) return kind.status();
  ir::PipelineSpec spec;
  spec.set_kind(*kind);
  spec.set_stages(f.stages);
  spec.set_chunks(f.chunks);
  spec.set_accum(f.accum);
  for (uint32_t w : f.window) spec.add_window(w);
  const bool flush = IsFlushSchedule(*kind);
  if (flush) spec.set_microbatches_per_iteration(f.microbatches);
  else spec.set_total_microbatches(f.microbatches);
  Result<ir::PipelineSpec> normalized = NormalizeSpec(spec);
  if (!normalized.ok()) return Status::InvalidArgument("--" + normalized.status().message());
  spec = *normalized;
  if (f.iterations > 0) {
    if (!flush && f.microbatches > 0)
      return Status::InvalidArgument("--iterations: give either --microbatches or --iterations");
    spec.set_total_microbatches(uint64_t{f.iterations} * (flush ? spec.microbatches_per_iteration() : spec.accum()));
  }
  return spec;
}

}  // namespace paci::cli
