// Checkpoints in safetensors. `<name>.safetensors` holds the weights under nanoGPT's GPT-2
// state_dict names (loadable by nanoGPT; with --tie lm_head.weight is written as a copy of wte)
// plus __metadata__ {paci.config, paci.step}. The sibling `<name>.optim.safetensors` holds AdamW's
// moments as exp_avg.<name> / exp_avg_sq.<name> and the step, sampler RNG state and position.
#pragma once

#include <map>
#include <string>

#include "exec/model/adamw.h"
#include "exec/model/gpt.h"
#include "exec/model/train.h"
#include "proto/status.h"

namespace paci::exec {

// "run.safetensors" -> "run.optim.safetensors" (any other name gets ".optim.safetensors" appended).
std::string optim_path(const std::string& weights_path);

// Whole-model weights (params in gpt_param_layout order).
Status weights_save(const std::string& path, const GPTConfig& cfg, const float* params,
                    const std::map<std::string, std::string>& metadata);
// Checks the file's config metadata (when present) and every tensor's shape against cfg.
Status weights_load(const std::string& path, const GPTConfig& cfg, float* params);

// One optimizer (a stage's span, or the whole model); metadata gets "paci.adamw_step" added.
Status adamw_save(const std::string& path, const ParamLayout& layout, const AdamW& opt,
                  std::map<std::string, std::string> metadata);
// Loads m, v and step into opt (whose span and layout must match); returns the file's metadata.
Result<std::map<std::string, std::string>> adamw_load(const std::string& path, const ParamLayout& layout,
                                                      AdamW* opt);

// The optimizer file names the weights it was saved beside (metadata paci.weights_digest, a hash
// of their bytes), so that the two files of different checkpoints are not mixed on resume.
std::string weights_digest(const float* params, size_t n);
// Fails naming optim_path when its paci.weights_digest is not that of `params` (files written
// before the digest existed carry none and pass).
Status check_same_checkpoint(const std::string& optim_path,
                             const std::map<std::string, std::string>& optim_meta, const float* params,
                             size_t n);

// The trainer's full state: weights, AdamW, sampler. Resuming continues bit-identically on CPU.
Status checkpoint_save(const std::string& path, const Trainer& tr);
Status checkpoint_load(const std::string& path, Trainer* tr);

}  // namespace paci::exec
