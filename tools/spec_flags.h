// The pipeline-spec flags `paci schedule`, `simulate`, `sweep` and `train` share, and the one
// reading of them, the same for every schedule (flush and asynchronous):
//   --accum K          micro-batches per optimizer update (a flush schedule's iteration M is K);
//   --updates N        the run is N updates = N*K micro-batches (--iterations is the same flag);
//   --microbatches N   the run in micro-batches, a whole number of updates (give one of the two).
// Contradictory or inapplicable combinations are refused with the flags named.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "paci.pb.h"
#include "proto/status.h"
#include "sched/schedule_io.h"

namespace paci::cli {

struct SpecFlags {
  std::string schedule;
  uint32_t stages = 0, accum = 0, chunks = 0;
  uint64_t microbatches = 0, updates = 0;  // run length: give at most one (0: not given)
  std::vector<uint32_t> window;
};

// A count flag whose 0 would read as "not given" (the default): refuses values below 1, naming the
// flag (CLI11 prefixes it), instead of silently using the default (issue 25).
CLI::Validator AtLeastOne();

// Adds --schedule, --stages/-P, --accum/-K, --microbatches/-M, --updates/--iterations,
// --chunks/-V and --window.
void AddSpecFlags(CLI::App* cmd, SpecFlags* flags);

// The run length in updates from --microbatches or --updates (0 when neither is given); the
// error names the flags when both are given or N is not a whole number of updates of K.
Result<uint64_t> UpdatesFromFlags(uint32_t accum, uint64_t microbatches, uint64_t updates);

// The normalized spec the flags ask for (sched's SpecFor; K when --accum is not given:
// DefaultAccum); the error names the flag at fault. A run length given
// by neither flag is `default_updates` updates, or (0) 4 * max(P, K) micro-batches rounded up to
// whole updates.
Result<ir::PipelineSpec> SpecFromFlags(const SpecFlags& f, uint64_t default_updates = 0);

// Options for reading a schedule file (--input): --schedule and --accum say how to read a
// compute-only CSV; the flags that shape a generated schedule do not apply and are refused.
Result<ScheduleReadOptions> InputOptionsFromFlags(const SpecFlags& f);

// The schedule kind for --schedule NAME, or an error listing the known names.
Result<ir::ScheduleKind> ScheduleKindFromFlag(const std::string& name);

}  // namespace paci::cli
