// The unpipelined training loop's building blocks: one whole-model StageModel, its flat weight and
// gradient buffers, AdamW, the data split and the training sampler. `paci train` drives these; a
// pipeline runtime reuses StageModel, AdamW and the checkpoint functions directly instead.
#pragma once

#include <cstdint>
#include <vector>

#include "exec/model/adamw.h"
#include "exec/model/data.h"
#include "exec/model/gpt.h"
#include "exec/model/stage.h"
#include "proto/status.h"

namespace paci::exec {

struct TrainConfig {
  GPTConfig model;          // model.block_size is the training sequence length T
  int B = 4;                // micro-batch size
  int64_t updates = 200;    // train until this many optimizer updates have been done
  int64_t decay_updates = 0;  // length of the cosine schedule; 0 means `updates`
  int accum = 1;            // micro-batches per update; each micro-batch loss is divided by accum
  float lr = 1e-3f;
  int64_t warmup = 20;
  float min_lr_frac = 0.1f;
  float grad_clip = 1.0f;   // global norm; <= 0 turns clipping off
  AdamWConfig adamw;
  uint64_t seed = 1337;     // weights and the random sampler
  SamplerKind sampler = SamplerKind::kRandom;
  int eval_batches = 20;    // validation micro-batches (fixed windows from the split's start)
};

struct Trainer {
  TrainConfig cfg;
  StageModel model;                 // layers [0, n_layer + 2)
  std::vector<float> params, grads; // whole-model flat buffers (gpt_param_layout order)
  AdamW opt;                        // opt.step is the number of updates done
  DataSplit data;
  Sampler sampler;                  // over data.train
  StageSaved saved;                 // reused across micro-batches
  std::vector<int> inputs, targets; // (B, T)
};

// The most floats a training run may need (weights, optimizer state, one micro-batch's
// activations; estimated before anything is allocated): 16 GiB. Raise it here for larger models.
inline constexpr int64_t kMaxTrainFloats = int64_t{1} << 32;
// AdamW's step is about lr per weight; beyond this every run diverges at once.
inline constexpr float kMaxLearningRate = 10.0f;

// Checks every number in cfg (finite, in range) and the work estimate; errors name the flag.
Status train_config_check(const TrainConfig& cfg);
// Both splits hold at least one window of block_size + 1 tokens.
Status train_data_check(const TrainConfig& cfg, const DataSplit& data);

// Validates cfg and the data sizes (errors name the flag), initialises weights from cfg.seed.
Result<Trainer> trainer_create(const TrainConfig& cfg, DataSplit data);

struct StepStats {
  float loss = 0.0f;       // mean training loss over the update's micro-batches
  float lr = 0.0f;
  float grad_norm = 0.0f;  // before clipping
};
StepStats trainer_step(Trainer* tr);

// Mean validation loss over cfg.eval_batches fixed windows; does not touch the training state.
float trainer_eval(Trainer* tr);

// Mean loss of `model` (the whole layer list) over `batches` fixed sequential (B, T) windows from
// the start of `tokens`. Shared by trainer_eval and the pipeline runtime's final evaluation.
float eval_loss(const StageModel& model, const float* params, const std::vector<uint16_t>& tokens, int B,
                int batches);

}  // namespace paci::exec
