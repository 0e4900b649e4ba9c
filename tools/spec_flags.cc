#include "tools/spec_flags.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "proto/ir_names.h"
#include "sched/checked_math.h"
#include "sched/pipeline_spec.h"

namespace paci::cli {
namespace {

Status Bad(const std::string& message) { return Status::InvalidArgument(message); }

}  // namespace

CLI::Validator AtLeastOne() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        // Only the range: what is not a number is left to the option's own conversion and message.
        char* end = nullptr;
        const double x = std::strtod(value.c_str(), &end);
        if (end == value.c_str() || *end != '\0' || x >= 1) return "";
        return "must be at least 1, got " + value + " (leave the flag out for the default)";
      },
      "", "at least one");
}

void AddSpecFlags(CLI::App* cmd, SpecFlags* flags) {
  cmd->add_option("--schedule", flags->schedule, fmt::format("{}", fmt::join(AllScheduleNames(), ", ")));
  cmd->add_option("--stages,-P", flags->stages, "pipeline stages P");
  // 0 stands for "not given" inside SpecFlags, so a 0 the user types is refused here rather than
  // silently read as the default (issue 25).
  cmd->add_option("--accum,-K", flags->accum,
                  "micro-batches per optimizer update K, every schedule (flush: the iteration M = K; "
                  "default 2P flush, 1 pipedream, else P)")
      ->check(AtLeastOne());
  cmd->add_option("--microbatches,-M", flags->microbatches, "run length in micro-batches, whole updates of K")
      ->check(AtLeastOne());
  cmd->add_option("--updates,--iterations", flags->updates,
                  "run length in optimizer updates (N x K micro-batches)")
      ->check(AtLeastOne());
  cmd->add_option("--chunks,-V", flags->chunks, "virtual chunks per stage (interleaved-1f1b)");
  cmd->add_option("--window", flags->window, "in-flight cap per stage L_0,L_1,... (asynchronous)")
      ->delimiter(',');
}

Result<ir::ScheduleKind> ScheduleKindFromFlag(const std::string& name) {
  if (auto kind = ParseScheduleName(name)) return *kind;
  return Bad(fmt::format("--schedule: unknown schedule '{}' (known: {})", name,
                         fmt::join(AllScheduleNames(), ", ")));
}

Result<uint64_t> UpdatesFromFlags(uint32_t accum, uint64_t microbatches, uint64_t updates) {
  if (accum == 0) return Bad("--accum: must be at least 1");
  if (microbatches > 0 && updates > 0)
    return Bad(
        fmt::format("--microbatches and --updates both set the run length: give one "
                    "(--microbatches N = --updates N/K with --accum K = {})",
                    accum));
  if (microbatches == 0) return updates;
  if (microbatches % accum != 0)
    return Bad(
        fmt::format("--microbatches: {} is not a whole number of updates of --accum {} "
                    "(every schedule updates after K micro-batches)",
                    microbatches, accum));
  return microbatches / accum;
}

Result<ir::PipelineSpec> SpecFromFlags(const SpecFlags& f, uint64_t default_updates) {
  if (f.schedule.empty()) return Bad("--schedule: required (or --input FILE)");
  if (f.stages == 0) return Bad("--stages: required and must be at least 1");
  Result<ir::ScheduleKind> kind = ScheduleKindFromFlag(f.schedule);
  if (!kind.ok()) return kind.status();
  const uint32_t P = f.stages, K = f.accum > 0 ? f.accum : DefaultAccum(*kind, P);
  const bool flush = IsFlushSchedule(*kind);
  if (*kind == ir::PIPEDREAM && K != 1)
    return Bad(
        "--accum: pipedream updates after every micro-batch (K = 1); for K > 1 use pipedream-2bw or paci");
  if (*kind == ir::INTERLEAVED_1F1B && K % P != 0)
    return Bad(
        fmt::format("--accum: interleaved-1f1b needs K (its iteration M) to be a multiple of --stages "
                    "{}, got {}",
                    P, K));
  if (f.chunks > 1 && *kind != ir::INTERLEAVED_1F1B)
    return Bad("--chunks: only interleaved-1f1b has more than one chunk per stage");
  if (!f.window.empty() && flush) return Bad("--window: flush schedules fix their own in-flight window");
  Result<uint64_t> updates = UpdatesFromFlags(K, f.microbatches, f.updates);
  if (!updates.ok()) return updates.status();
  // U x K of two user numbers: checked, not wrapped (issue 25); the spec limits bound it further.
  const std::optional<uint64_t> product = CheckedMul<uint64_t>(*updates > 0 ? *updates : default_updates, K);
  if (!product) return Bad(fmt::format("--updates x --accum: {} x {} micro-batches overflow", *updates, K));
  uint64_t run = *product;
  if (run == 0) run = (4 * uint64_t{std::max(P, K)} + K - 1) / K * K;

  Result<ir::PipelineSpec> normalized = SpecFor(*kind, P, K, run, f.chunks, f.window);
  if (!normalized.ok()) return Bad("--" + normalized.status().message());
  return normalized;
}

Result<ScheduleReadOptions> InputOptionsFromFlags(const SpecFlags& f) {
  const std::pair<const char*, bool> shaping[] = {{"--stages", f.stages > 0},
                                                  {"--microbatches", f.microbatches > 0},
                                                  {"--updates", f.updates > 0},
                                                  {"--chunks", f.chunks > 0},
                                                  {"--window", !f.window.empty()}};
  for (const auto& [flag, given] : shaping)
    if (given)
      return Bad(
          fmt::format("{}: does not apply to --input (the file fixes its stages and run); "
                      "only --schedule and --accum say how to read a compute-only CSV",
                      flag));
  ScheduleReadOptions options;
  if (!f.schedule.empty()) {
    Result<ir::ScheduleKind> kind = ScheduleKindFromFlag(f.schedule);
    if (!kind.ok()) return kind.status();
    options.csv.kind = *kind;
  }
  options.csv.accum = f.accum;
  return options;
}

}  // namespace paci::cli
