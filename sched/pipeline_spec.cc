#include "sched/pipeline_spec.h"

#include <algorithm>
#include <string>

#include "proto/ir_names.h"
#include "sched/limits.h"

namespace paci {
namespace {

Status Invalid(const std::string& field, const std::string& why) {
  return Status::InvalidArgument(field + ": " + why);
}

Status NormalizeFlush(ir::PipelineSpec& s) {
  const uint32_t P = s.stages();
  if (s.microbatches_per_iteration() == 0) s.set_microbatches_per_iteration(DefaultAccum(s.kind(), P));
  const uint32_t M = s.microbatches_per_iteration();
  if (s.kind() == ir::INTERLEAVED_1F1B) {
    if (s.chunks() == 0) s.set_chunks(DefaultChunks(s.kind()));
    if (M % P != 0)
      return Invalid("microbatches", "interleaved-1f1b needs M (" + std::to_string(M) +
                                         ") to be a multiple of the stage count P (" + std::to_string(P) +
                                         ")");
  } else if (s.chunks() > 1) {
    return Invalid("chunks", "only interleaved-1f1b has more than one chunk per stage");
  }
  if (s.chunks() == 0) s.set_chunks(1);
  if (s.total_microbatches() == 0) s.set_total_microbatches(M);
  if (s.total_microbatches() % M != 0)
    return Invalid("total_microbatches",
                   "a flush schedule runs whole iterations of M = " + std::to_string(M) + " micro-batches");
  if (s.window_size() > 0) return Invalid("window", "flush schedules fix their own in-flight window");
  return Status::Ok();
}

Status NormalizeAsync(ir::PipelineSpec& s) {
  const uint32_t P = s.stages();
  if (s.chunks() > 1) return Invalid("chunks", "only interleaved-1f1b has more than one chunk");
  s.set_chunks(1);
  if (s.kind() == ir::PIPEDREAM) {
    if (s.accum() > 1)
      return Invalid("accum", "pipedream steps after every micro-batch; use K = 1 or pipedream-2bw");
    s.set_accum(1);
  }
  if (s.accum() == 0) s.set_accum(DefaultAccum(s.kind(), P));
  if (s.kind() == ir::PIPEDREAM_2BW && s.accum() < P)
    return Invalid("accum", "pipedream-2bw needs K >= P (the 2BW paper's m >= d); got K = " +
                                std::to_string(s.accum()) + ", P = " + std::to_string(P));
  if (s.total_microbatches() == 0) s.set_total_microbatches(4 * std::max(P, s.accum()));
  if (s.window_size() != 0 && s.window_size() != static_cast<int>(P))
    return Invalid("window", "needs one entry per stage (" + std::to_string(P) + "), got " +
                                 std::to_string(s.window_size()));
  for (int i = 0; i < s.window_size(); ++i)
    if (s.window(i) == 0) return Invalid("window", "stage " + std::to_string(i) + " has window 0");
  return Status::Ok();
}

}  // namespace

Result<ir::PipelineSpec> NormalizeSpec(const ir::PipelineSpec& in) {
  ir::PipelineSpec s = in;
  if (s.kind() == ir::SCHEDULE_KIND_UNSPECIFIED) return Invalid("kind", "no schedule kind given");
  if (s.stages() == 0) return Invalid("stages", "must be at least 1");
  PACI_RETURN_IF_ERROR(CheckSpecLimits(s));  // before the defaults, which multiply P
  Status st = IsFlushSchedule(s.kind()) ? NormalizeFlush(s) : NormalizeAsync(s);
  if (!st.ok()) return st;
  PACI_RETURN_IF_ERROR(CheckSpecLimits(s));
  return s;
}

uint32_t DefaultAccum(ir::ScheduleKind kind, uint32_t stages) {
  if (IsFlushSchedule(kind)) return 2 * stages;
  return kind == ir::PIPEDREAM ? 1 : stages;
}

uint32_t DefaultChunks(ir::ScheduleKind kind) { return kind == ir::INTERLEAVED_1F1B ? 2 : 1; }

bool SplitsBackward(ir::ScheduleKind kind) { return kind == ir::ZB_H1; }

Result<ir::PipelineSpec> SpecFor(ir::ScheduleKind kind, uint32_t stages, uint32_t accum,
                                 uint64_t microbatches, uint32_t chunks,
                                 const std::vector<uint32_t>& window) {
  ir::PipelineSpec spec;
  spec.set_kind(kind);
  spec.set_stages(stages);
  // One update per flush iteration, so K is the iteration's M there.
  if (IsFlushSchedule(kind))
    spec.set_microbatches_per_iteration(accum);
  else
    spec.set_accum(accum);
  if (kind == ir::INTERLEAVED_1F1B) spec.set_chunks(chunks);
  spec.set_total_microbatches(microbatches);
  for (uint32_t w : window) spec.add_window(w);
  return NormalizeSpec(spec);
}

void NormalizeChunks(ir::Schedule* schedule) {
  if (schedule->spec().chunks() > 0) return;
  // From the stream's sections, not by expanding them: a body repeat keeps its ops' chunks.
  uint32_t chunks = 1;
  auto see = [&](const ir::Op& op) { chunks = std::max(chunks, std::min(op.chunk(), kMaxChunks) + 1); };
  for (const ir::StageStream& stream : schedule->streams()) {
    for (const ir::Op& op : stream.prefix()) see(op);
    for (const ir::Op& op : stream.body()) see(op);
    for (const ir::Op& op : stream.suffix()) see(op);
  }
  schedule->mutable_spec()->set_chunks(chunks);
}

void NormalizeChunks(ir::PipelineSpec* spec) {
  if (spec->chunks() == 0) spec->set_chunks(1);
}

uint32_t StageWindow(const ir::PipelineSpec& spec, uint32_t stage) {
  if (spec.window_size() > static_cast<int>(stage)) return spec.window(stage);
  return spec.stages() - stage;
}

}  // namespace paci
