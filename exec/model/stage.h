// StageModel: forward and backward of a contiguous slice [first, last) of the GPT layer list
// (see gpt.h), the unit a pipeline stage runs. The whole unpipelined model is the slice [0, n_layer+2).
// The weights a pass uses are an explicit argument, separate from the activations its forward saved:
// PACI calls backward_input with the live, already-updated weights and the old saved activations;
// PipeDream passes a stashed copy. Backward comes in two parts callable separately (zero-bubble B and
// W ops) or together. Not thread-safe per StageSaved; distinct StageSaved records may be used from
// different threads (kernels use OpenMP inside).
#pragma once

#include <vector>

#include "exec/model/gpt.h"
#include "proto/status.h"

namespace paci::exec {

// What one layer's forward saved for its backward, plus (after backward_input) the intermediate
// output-gradients its weight-gradient part needs. Shapes with N = B*T rows.
struct LayerSaved {
  std::vector<int> tokens;  // embedding: (N) input ids
  std::vector<float> inp;   // block, head: layer input (N,C)
  std::vector<float> ln1, ln1_mean, ln1_rstd, qkv, atty, att, r2, ln2, ln2_mean, ln2_rstd, fch, fch_gelu;
  std::vector<int> targets;                  // head: (N)
  std::vector<float> logits, probs, losses;  // head: (N,V), (N,V), (N); ln1* hold ln_f
  // Written by backward_input, read by backward_weight.
  std::vector<float> dy, dfch, dln2, dr2, dqkv, dln1, dlogits;
  bool has_dgrads = false;
};

// One micro-batch's record for a whole stage. Reusing a record across micro-batches reuses memory.
struct StageSaved {
  int B = 0, T = 0;
  float loss = 0.0f;               // mean cross-entropy, set by forward when the stage holds the head
  std::vector<LayerSaved> layers;  // layers[i] belongs to layer first + i
};

// Working buffers of a stage's passes (the activation passed from layer to layer, the block
// backward's temporary). Passing one to forward/backward_input reuses its capacity instead of
// allocating per call; results are the same either way. One per thread of passes.
struct StageScratch {
  std::vector<float> cur, next, tmp;
};

// The input of a stage's forward. Exactly one of tokens / acts, by whether the stage holds layer 0.
struct StageInput {
  const int* tokens = nullptr;   // (B,T) token ids, stage holds the embedding
  const float* acts = nullptr;   // (B,T,C) previous stage's output, otherwise
  const int* targets = nullptr;  // (B,T) next-token ids, required when the stage holds the head
};

// Where a pass reads each layer's weights. The plain overloads below read one contiguous copy of
// the stage's weights; a staleness compensation (exec/runtime/staleness_math.h) passes an
// estimate written one layer at a time into a layer-sized buffer, so it costs one layer of memory,
// not a weight copy. A pass asks for a layer right before it uses it, and (a tied head aside) only
// for that layer while it runs it.
class LayerWeights {
 public:
  virtual ~LayerWeights() = default;
  // The first float of layer `layer`'s weights, valid until the next call.
  virtual const float* Layer(int layer) const = 0;
};

class StageModel {
 public:
  StageModel() = default;  // empty; use Create
  // first < last <= gpt_num_layers(cfg). With cfg.tie, the stage must hold both layer 0 and the head.
  static Result<StageModel> Create(const GPTConfig& cfg, int first, int last);

  const GPTConfig& config() const { return cfg_; }
  const ParamLayout& layout() const { return layout_; }
  int first() const { return first_; }
  int last() const { return last_; }
  bool has_embedding() const { return first_ == 0; }
  bool has_head() const { return last_ == gpt_num_layers(cfg_); }
  // The stage's weights (and gradients) are floats [param_offset, param_offset + num_params) of
  // the whole-model buffer; every `weights`/`grads` pointer below points at the first of them.
  size_t param_offset() const { return layout_.layer_offset[first_]; }
  size_t num_params() const { return layout_.layer_offset[last_] - param_offset(); }

  // Runs layers [first, last) on a (B,T) micro-batch, T <= block_size. out: (B,T,C) activations
  // for the next stage, or {loss} (mean over B*T tokens) when the stage holds the head.
  void forward(const float* weights, const StageInput& in, int B, int T, StageSaved* saved,
               std::vector<float>* out, StageScratch* scratch = nullptr) const;
  void forward(const LayerWeights& weights, const StageInput& in, int B, int T, StageSaved* saved,
               std::vector<float>* out, StageScratch* scratch = nullptr) const;

  // Input-gradient part (B op). dout: (B,T,C) gradient of this stage's output, or, when the stage
  // holds the head, a pointer to one float: the weight of this micro-batch's loss in the objective
  // (1/accum). dinp: (B,T,C) gradient for the previous stage, left empty for the first stage.
  // Also stores in `saved` what backward_weight needs; `weights` may differ from the forward's.
  void backward_input(const float* weights, StageSaved* saved, const float* dout, std::vector<float>* dinp,
                      StageScratch* scratch = nullptr) const;
  void backward_input(const LayerWeights& weights, StageSaved* saved, const float* dout,
                      std::vector<float>* dinp, StageScratch* scratch = nullptr) const;

  // Weight-gradient part (W op): grads += dLoss/dWeights, using the activations from forward and
  // the output-gradients recorded by backward_input (which must have run on this record).
  void backward_weight(StageSaved* saved, float* grads) const;

  // Both parts.
  void backward(const float* weights, StageSaved* saved, const float* dout, std::vector<float>* dinp,
                float* grads, StageScratch* scratch = nullptr) const;
  void backward(const LayerWeights& weights, StageSaved* saved, const float* dout, std::vector<float>* dinp,
                float* grads, StageScratch* scratch = nullptr) const;

  // Whether a layer's backward_input reads its weights (the embedding's does not: its input
  // gradient is the tokens', which nothing needs). Only such layers need a weight estimate.
  bool backward_reads_weights(int layer) const;
  // Floats of layer `layer`'s weights.
  size_t layer_params(int layer) const {
    return layout_.layer_offset[layer + 1] - layout_.layer_offset[layer];
  }

  // Reserves every buffer a (B,T) micro-batch's forward and backward put in `saved`, and
  // `scratch`'s, so that later passes of at most that size allocate nothing. Sizes stay 0.
  void reserve(int B, int T, StageSaved* saved, StageScratch* scratch) const;

 private:
  StageModel(const GPTConfig& cfg, int first, int last);
  const float* tensor(const float* base, const char* name) const;
  float* tensor(float* base, const char* name) const;
  // Tensor `name` of layer `layer`, whose weights start at `layer_weights`.
  const float* layer_tensor(const float* layer_weights, int layer, const char* name) const;

  GPTConfig cfg_;
  ParamLayout layout_;
  int first_ = 0, last_ = 0;
};

}  // namespace paci::exec
