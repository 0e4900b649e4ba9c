// The GPT model description: configuration, the layer list and where every parameter tensor lives
// in one flat fp32 buffer. Layer 0 is the embedding (wte, wpe), layers 1..n_layer are transformer
// blocks, layer n_layer+1 is the head (ln_f, lm_head, loss). Each layer's tensors are contiguous,
// so a pipeline stage [first, last) owns the contiguous span [layer_offset[first], layer_offset[last]).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proto/status.h"

namespace paci::exec {

struct GPTConfig {
  int vocab_size = 256;
  int block_size = 32;  // longest sequence (rows of wpe)
  int n_layer = 2;
  int n_head = 4;
  int n_embd = 64;
  bool tie = false;  // lm_head shares wte (then no lm_head tensor of its own)
};

// Checks the sizes; the message names the flag (--layers, --dim, ...) at fault.
Status gpt_config_validate(const GPTConfig& cfg);

enum class LayerKind { kEmbedding, kBlock, kHead };

int gpt_num_layers(const GPTConfig& cfg);  // n_layer + 2
LayerKind gpt_layer_kind(const GPTConfig& cfg, int layer);

// One parameter tensor. Names and shapes are nanoGPT's GPT-2 state_dict (Linear weights [out, in]).
struct ParamSpec {
  std::string name;
  std::vector<int64_t> shape;
  size_t offset = 0;  // in floats, from the start of the whole model's buffer
  size_t numel = 0;
  int layer = 0;
  bool decay = false;  // AdamW weight decay applies (tensors with >= 2 dims, as nanoGPT)
};

struct ParamLayout {
  std::vector<ParamSpec> tensors;    // in buffer order
  std::vector<size_t> layer_offset;  // gpt_num_layers + 1 entries; the last is the total size
  size_t total = 0;
};

ParamLayout gpt_param_layout(const GPTConfig& cfg);
const ParamSpec* param_find(const ParamLayout& layout, std::string_view name);  // a view: no string per lookup

// nanoGPT's init: N(0, 0.02) for weights and embeddings, N(0, 0.02/sqrt(2*n_layer)) for the two
// residual projections (c_proj), zero biases, LayerNorm weight 1. Deterministic in seed.
void gpt_init_params(const GPTConfig& cfg, const ParamLayout& layout, uint64_t seed, float* params);

// Weights of one block, resolved from a pointer to the start of that block's span.
struct BlockWeights {
  const float *ln1w, *ln1b, *qkvw, *qkvb, *attprojw, *attprojb;
  const float *ln2w, *ln2b, *fcw, *fcb, *fcprojw, *fcprojb;
};
BlockWeights block_weights(const float* p, int C);
// The same offsets, writable (gradients of one block).
struct BlockGrads {
  float *ln1w, *ln1b, *qkvw, *qkvb, *attprojw, *attprojb;
  float *ln2w, *ln2b, *fcw, *fcb, *fcprojw, *fcprojb;
};
BlockGrads block_grads(float* p, int C);

}  // namespace paci::exec
