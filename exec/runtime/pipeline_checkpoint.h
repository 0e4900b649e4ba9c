// Checkpoints of pipelined runs (`paci train --schedule ... --save/--resume`): the same two
// safetensors files as the unpipelined trainer's (checkpoint.h: weights, AdamW moments of the
// whole model gathered from the stages), plus the run's position: updates done, tokens seen, the
// batch sampler, and the schedule spec that wrote it. A checkpoint is taken at a drained point
// (the end of a schedule segment: no micro-batch in flight), so any schedule can resume from it.
#pragma once

#include <string>
#include <vector>

#include "exec/model/data.h"
#include "exec/model/gpt.h"
#include "proto/status.h"

namespace paci::exec {

struct PipelineState {
  std::vector<float> params;     // whole model, gpt_param_layout order
  std::vector<float> m, v;       // AdamW moments, same order
  int64_t updates = 0;           // optimizer updates done (every stage's AdamW step)
  uint64_t tokens = 0;           // training tokens seen
  Sampler sampler;               // where the next micro-batch comes from
  std::string schedule;          // spec of the run that wrote it, e.g. "paci P=4 K=4"
};

// Writes `path` and optim_path(path).
Status pipeline_checkpoint_save(const std::string& path, const GPTConfig& model, const PipelineState& state);
// Reads both files; errors name the file and what does not match `model` or `sampler`.
Result<PipelineState> pipeline_checkpoint_load(const std::string& path, const GPTConfig& model, SamplerKind sampler);

}  // namespace paci::exec
