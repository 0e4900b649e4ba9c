#include "sched/schedule_generator.h"

#include <algorithm>

#include "proto/ir_names.h"
#include "sched/flush_schedules.h"
#include "sched/ir_version.h"
#include "sched/pipeline_spec.h"
#include "sched/stream_builder.h"

namespace paci {
namespace {

void BuildFlushStream(const ir::PipelineSpec& spec, ir::StageStream& stream) {
  StreamBuilder b(stream.stage(), spec.stages(), spec.chunks(), stream.mutable_body());
  switch (spec.kind()) {
    case ir::GPIPE: BuildGpipeIteration(b, stream.stage(), spec); break;
    case ir::INTERLEAVED_1F1B: BuildInterleavedIteration(b, stream.stage(), spec); break;
    case ir::ZB_H1: BuildZbH1Iteration(b, stream.stage(), spec); break;
    default: Build1f1bIteration(b, stream.stage(), spec); break;
  }
  stream.set_body_repeats(spec.total_microbatches() / spec.microbatches_per_iteration());
  stream.set_body_stride(spec.microbatches_per_iteration());
}

// Asynchronous 1F1B without flush (PACI, PipeDream, 2BW, PipeMare; docs/method.md §2.2 and §7):
// w = min(window, N) warm-up forwards, then pairs (B_j, F_{j+w}), then the cool-down backwards.
// The stage steps right after sending the K-th backward's input-gradient. Pairs are grouped K at
// a time into the repeated body (stride K), so the stream's size does not depend on N.
void BuildAsyncStream(const ir::PipelineSpec& spec, ir::StageStream& stream) {
  const uint32_t s = stream.stage();
  const uint64_t N = spec.total_microbatches(), K = spec.accum();
  const uint64_t w = std::min<uint64_t>(StageWindow(spec, s), N);
  StreamBuilder b(s, spec.stages(), 1, stream.mutable_prefix());
  auto backward = [&](uint64_t j) {
    b.Backward(j);
    if (j % K == 0 || j == N) b.OptimizerStep(j);
  };
  for (uint64_t n = 1; n <= w; ++n) b.Forward(n);

  const uint64_t pairs = N - w, repeats = pairs / K;
  if (repeats > 0) {
    b.Target(stream.mutable_body());
    for (uint64_t j = 1; j <= K; ++j) {
      backward(j);
      b.Forward(j + w);
    }
    stream.set_body_repeats(repeats);
    stream.set_body_stride(K);
  }
  b.Target(stream.mutable_suffix());
  for (uint64_t j = repeats * K + 1; j <= pairs; ++j) {
    backward(j);
    b.Forward(j + w);
  }
  for (uint64_t j = pairs + 1; j <= N; ++j) backward(j);
}

}  // namespace

ir::WeightPolicy WeightPolicyFor(ir::ScheduleKind kind) {
  switch (kind) {
    case ir::PIPEDREAM: return ir::STASH;
    case ir::PIPEDREAM_2BW: return ir::DOUBLE_BUFFER;
    case ir::PACI:
    case ir::PIPEMARE: return ir::LIVE_BOUNDED_DRIFT;
    default: return ir::SYNC_AFTER_FLUSH;
  }
}

Result<ir::Schedule> GenerateSchedule(const ir::PipelineSpec& requested) {
  Result<ir::PipelineSpec> spec = NormalizeSpec(requested);
  if (!spec.ok()) return spec.status();
  ir::Schedule schedule;
  schedule.set_ir_version(kIrVersion);
  *schedule.mutable_spec() = *spec;
  for (uint32_t s = 0; s < spec->stages(); ++s) {
    ir::StageStream& stream = *schedule.add_streams();
    stream.set_stage(s);
    stream.set_weight_policy(WeightPolicyFor(spec->kind()));
    if (IsFlushSchedule(spec->kind())) {
      BuildFlushStream(*spec, stream);
    } else {
      BuildAsyncStream(*spec, stream);
    }
  }
  return schedule;
}

}  // namespace paci
