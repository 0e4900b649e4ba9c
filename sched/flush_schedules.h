// Per-stage op orders of one iteration of the synchronous schedules (GPipe, 1F1B-flush,
// interleaved 1F1B, ZB-H1). Internal to sched/; GenerateSchedule repeats them.
#pragma once

#include <cstdint>

#include "paci.pb.h"

namespace paci {

class StreamBuilder;

void BuildGpipeIteration(StreamBuilder& b, uint32_t stage, const ir::PipelineSpec& spec);
void Build1f1bIteration(StreamBuilder& b, uint32_t stage, const ir::PipelineSpec& spec);
void BuildInterleavedIteration(StreamBuilder& b, uint32_t stage, const ir::PipelineSpec& spec);
void BuildZbH1Iteration(StreamBuilder& b, uint32_t stage, const ir::PipelineSpec& spec);

}  // namespace paci
