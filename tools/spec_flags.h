// The pipeline-spec flags `paci schedule` and `paci simulate` share, and the one reading of them:
// --microbatches is M per iteration for flush schedules and the run length for asynchronous
// ones; --iterations multiplies M (flush) or K (asynchronous).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "paci.pb.h"
#include "proto/status.h"

namespace paci::cli {

struct SpecFlags {
  std::string schedule;
  uint32_t stages = 0, microbatches = 0, accum = 0, chunks = 0, iterations = 0;
  std::vector<uint32_t> window;
};

// Adds --schedule, --stages/-P, --microbatches/-M, --accum/-K, --chunks/-V, --iterations, --window.
void AddSpecFlags(CLI::App* cmd, SpecFlags* flags);

// The normalized spec the flags ask for; the error names the flag at fault.
Result<ir::PipelineSpec> SpecFromFlags(const SpecFlags& f);

// The schedule kind for --schedule NAME, or an error listing the known names.
Result<ir::ScheduleKind> ScheduleKindFromFlag(const std::string& name);

}  // namespace paci::cli
