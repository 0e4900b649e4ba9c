// Parameter layout and initialisation. See gpt.h.
#include "exec/model/gpt.h"

#include <cmath>

#include "exec/model/rng.h"

namespace paci::exec {

Status gpt_config_validate(const GPTConfig& c) {
  if (c.vocab_size < 2 || c.vocab_size > 65536)
    return Status::InvalidArgument("--vocab must be in [2, 65536] (token ids are uint16)");
  if (c.block_size < 1) return Status::InvalidArgument("--seq must be at least 1");
  if (c.n_layer < 1) return Status::InvalidArgument("--layers must be at least 1");
  if (c.n_head < 1) return Status::InvalidArgument("--heads must be at least 1");
  if (c.n_embd < 1 || c.n_embd % c.n_head != 0)
    return Status::InvalidArgument("--dim must be a positive multiple of --heads");
  return Status::Ok();
}

int gpt_num_layers(const GPTConfig& cfg) { return cfg.n_layer + 2; }

LayerKind gpt_layer_kind(const GPTConfig& cfg, int layer) {
  if (layer == 0) return LayerKind::kEmbedding;
  if (layer == cfg.n_layer + 1) return LayerKind::kHead;
  return LayerKind::kBlock;
}

namespace {

void add(ParamLayout* L, const std::string& name, std::vector<int64_t> shape, int layer) {
  ParamSpec s;
  s.name = name;
  s.numel = 1;
  for (int64_t d : shape) s.numel *= static_cast<size_t>(d);
  s.shape = std::move(shape);
  s.offset = L->total;
  s.layer = layer;
  s.decay = s.shape.size() >= 2;
  L->total += s.numel;
  L->tensors.push_back(std::move(s));
}

}  // namespace

ParamLayout gpt_param_layout(const GPTConfig& cfg) {
  ParamLayout L;
  const int64_t C = cfg.n_embd, V = cfg.vocab_size;
  L.layer_offset.push_back(0);
  add(&L, "transformer.wte.weight", {V, C}, 0);
  add(&L, "transformer.wpe.weight", {cfg.block_size, C}, 0);
  for (int i = 0; i < cfg.n_layer; i++) {
    L.layer_offset.push_back(L.total);
    const std::string p = "transformer.h." + std::to_string(i) + ".";
    const int layer = i + 1;
    add(&L, p + "ln_1.weight", {C}, layer);
    add(&L, p + "ln_1.bias", {C}, layer);
    add(&L, p + "attn.c_attn.weight", {3 * C, C}, layer);
    add(&L, p + "attn.c_attn.bias", {3 * C}, layer);
    add(&L, p + "attn.c_proj.weight", {C, C}, layer);
    add(&L, p + "attn.c_proj.bias", {C}, layer);
    add(&L, p + "ln_2.weight", {C}, layer);
    add(&L, p + "ln_2.bias", {C}, layer);
    add(&L, p + "mlp.c_fc.weight", {4 * C, C}, layer);
    add(&L, p + "mlp.c_fc.bias", {4 * C}, layer);
    add(&L, p + "mlp.c_proj.weight", {C, 4 * C}, layer);
    add(&L, p + "mlp.c_proj.bias", {C}, layer);
  }
  L.layer_offset.push_back(L.total);
  const int head = cfg.n_layer + 1;
  add(&L, "transformer.ln_f.weight", {C}, head);
  add(&L, "transformer.ln_f.bias", {C}, head);
  if (!cfg.tie) add(&L, "lm_head.weight", {V, C}, head);
  L.layer_offset.push_back(L.total);
  return L;
}

const ParamSpec* param_find(const ParamLayout& layout, std::string_view name) {
  for (const ParamSpec& s : layout.tensors)
    if (s.name == name) return &s;
  return nullptr;
}

void gpt_init_params(const GPTConfig& cfg, const ParamLayout& layout, uint64_t seed, float* params) {
  Rng rng{seed ^ 0x5DEECE66Dull};
  const float proj_std = 0.02f / std::sqrt(2.0f * cfg.n_layer);
  for (const ParamSpec& s : layout.tensors) {
    float* p = params + s.offset;
    const bool is_ln_weight = s.shape.size() == 1 && s.name.find("ln_") != std::string::npos &&
                              s.name.ends_with(".weight");
    if (s.shape.size() == 1) {
      for (size_t i = 0; i < s.numel; i++) p[i] = is_ln_weight ? 1.0f : 0.0f;
      continue;
    }
    const float std = s.name.ends_with("c_proj.weight") ? proj_std : 0.02f;
    for (size_t i = 0; i < s.numel; i++) p[i] = std * rng_normal(&rng);
  }
}

BlockWeights block_weights(const float* p, int C) {
  BlockWeights w;
  w.ln1w = p;
  w.ln1b = w.ln1w + C;
  w.qkvw = w.ln1b + C;
  w.qkvb = w.qkvw + 3 * C * C;
  w.attprojw = w.qkvb + 3 * C;
  w.attprojb = w.attprojw + C * C;
  w.ln2w = w.attprojb + C;
  w.ln2b = w.ln2w + C;
  w.fcw = w.ln2b + C;
  w.fcb = w.fcw + 4 * C * C;
  w.fcprojw = w.fcb + 4 * C;
  w.fcprojb = w.fcprojw + 4 * C * C;
  return w;
}

BlockGrads block_grads(float* p, int C) {
  const BlockWeights w = block_weights(p, C);
  auto m = [](const float* x) { return const_cast<float*>(x); };  // same offsets, writable buffer
  return BlockGrads{m(w.ln1w), m(w.ln1b), m(w.qkvw), m(w.qkvb), m(w.attprojw), m(w.attprojb),
                    m(w.ln2w), m(w.ln2b), m(w.fcw),  m(w.fcb),  m(w.fcprojw),  m(w.fcprojb)};
}

}  // namespace paci::exec
