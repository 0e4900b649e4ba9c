#include "sched/limits.h"

#include <algorithm>

#include <fmt/format.h>

namespace paci {
namespace {

Status TooLarge(const char* field, uint64_t value, const char* limit, uint64_t max) {
  return Status::InvalidArgument(fmt::format("{}: {} is beyond the limit {} = {} (sched/limits.h)",
                                             field, value, limit, max));
}

}  // namespace

Status CheckSpecLimits(const ir::PipelineSpec& spec) {
  if (spec.stages() > kMaxStages) return TooLarge("stages", spec.stages(), "kMaxStages", kMaxStages);
  if (spec.chunks() > kMaxChunks) return TooLarge("chunks", spec.chunks(), "kMaxChunks", kMaxChunks);
  if (spec.total_microbatches() > kMaxRunMicroBatches)
    return TooLarge("total_microbatches", spec.total_microbatches(), "kMaxRunMicroBatches", kMaxRunMicroBatches);
  const uint64_t pv = uint64_t{std::max(1u, spec.stages())} * std::max(1u, spec.chunks());
  const uint64_t most = kMaxStageMicroBatches / pv;
  if (spec.microbatches_per_iteration() > most)
    return Status::InvalidArgument(fmt::format(
        "microbatches_per_iteration: {} micro-batches x {} stages x chunks is beyond the work limit "
        "kMaxStageMicroBatches = {} (sched/limits.h); at most {} per iteration here",
        spec.microbatches_per_iteration(), pv, kMaxStageMicroBatches, most));
  if (spec.accum() > most) return TooLarge("accum", spec.accum(), "kMaxStageMicroBatches / (P * V)", most);
  return Status::Ok();
}

Status CheckPlayedWork(const ir::PipelineSpec& spec) {
  const double work = double(std::max(1u, spec.stages())) * std::max(1u, spec.chunks()) *
                      double(spec.total_microbatches());
  if (work > double(kMaxPlayedStageMicroBatches))
    return Status::InvalidArgument(fmt::format(
        "total_microbatches: {} micro-batches x {} stages x {} chunks is beyond the work limit "
        "kMaxPlayedStageMicroBatches = {} (sched/limits.h)",
        spec.total_microbatches(), spec.stages(), std::max(1u, spec.chunks()), kMaxPlayedStageMicroBatches));
  return Status::Ok();
}

}  // namespace paci
