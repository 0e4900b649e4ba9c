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
  const uint64_t pv = uint64_t{std::max(1u, spec.stages())} * std::max(1u, spec.chunks());
  const uint64_t most_n = kMaxStageMicroBatches / pv;
  if (spec.total_microbatches() > most_n)
    return Status::InvalidArgument(fmt::format(
        "total_microbatches: {} micro-batches x {} stages x chunks is beyond the work limit "
        "kMaxStageMicroBatches = {} (sched/limits.h); at most {} micro-batches here",
        spec.total_microbatches(), pv, kMaxStageMicroBatches, most_n));
  if (spec.microbatches_per_iteration() > most_n)
    return TooLarge("microbatches_per_iteration", spec.microbatches_per_iteration(),
                    "kMaxStageMicroBatches / (P * V)", most_n);
  if (spec.accum() > most_n) return TooLarge("accum", spec.accum(), "kMaxStageMicroBatches / (P * V)", most_n);
  return Status::Ok();
}

}  // namespace paci
