// Per-layer forward/backward of a stage: embedding, transformer block, head. See stage.h.
#include "exec/model/stage.h"

#include <algorithm>

#include "exec/model/layers.h"

namespace paci::exec {

namespace {

void copy_into(std::vector<float>* dst, const float* src, size_t n) { dst->assign(src, src + n); }

// ---- transformer block: x -> x + attn(ln_1(x)) = r2 -> r2 + mlp(ln_2(r2)) ----

void block_forward(const BlockWeights& w, const float* x, LayerSaved* s, float* y, int B, int T, int C,
                   int NH) {
  const int N = B * T;
  copy_into(&s->inp, x, static_cast<size_t>(N) * C);
  s->ln1.resize(N * C), s->ln1_mean.resize(N), s->ln1_rstd.resize(N);
  s->qkv.resize(N * 3 * C), s->atty.resize(N * C), s->att.resize(static_cast<size_t>(B) * NH * T * T);
  s->r2.resize(N * C), s->ln2.resize(N * C), s->ln2_mean.resize(N), s->ln2_rstd.resize(N);
  s->fch.resize(N * 4 * C), s->fch_gelu.resize(N * 4 * C);
  s->has_dgrads = false;

  layernorm_forward(s->ln1.data(), s->ln1_mean.data(), s->ln1_rstd.data(), x, w.ln1w, w.ln1b, N, C);
  matmul_forward(s->qkv.data(), s->ln1.data(), w.qkvw, w.qkvb, N, C, 3 * C);
  attention_forward(s->atty.data(), s->att.data(), s->qkv.data(), B, T, C, NH);
  matmul_forward(s->r2.data(), s->atty.data(), w.attprojw, w.attprojb, N, C, C);
  for (int i = 0; i < N * C; i++) s->r2[i] += x[i];
  layernorm_forward(s->ln2.data(), s->ln2_mean.data(), s->ln2_rstd.data(), s->r2.data(), w.ln2w, w.ln2b, N,
                    C);
  matmul_forward(s->fch.data(), s->ln2.data(), w.fcw, w.fcb, N, C, 4 * C);
  gelu_forward(s->fch_gelu.data(), s->fch.data(), N * 4 * C);
  matmul_forward(y, s->fch_gelu.data(), w.fcprojw, w.fcprojb, N, 4 * C, C);
  for (int i = 0; i < N * C; i++) y[i] += s->r2[i];
}

void block_backward_input(const BlockWeights& w, LayerSaved* s, const float* dy, float* dx, int B, int T,
                          int C, int NH, std::vector<float>& tmp) {
  const int N = B * T;
  copy_into(&s->dy, dy, static_cast<size_t>(N) * C);
  tmp.assign(static_cast<size_t>(N) * 4 * C, 0.0f);  // d(fch_gelu), later d(atty)
  matmul_backward_input(tmp.data(), dy, w.fcprojw, N, 4 * C, C);
  s->dfch.resize(N * 4 * C);
  gelu_backward(s->dfch.data(), s->fch.data(), tmp.data(), N * 4 * C);
  s->dln2.assign(N * C, 0.0f);
  matmul_backward_input(s->dln2.data(), s->dfch.data(), w.fcw, N, C, 4 * C);
  copy_into(&s->dr2, dy, static_cast<size_t>(N) * C);  // residual path
  layernorm_backward_input(s->dr2.data(), s->dln2.data(), s->r2.data(), w.ln2w, s->ln2_mean.data(),
                           s->ln2_rstd.data(), N, C);
  std::fill(tmp.begin(), tmp.begin() + N * C, 0.0f);
  matmul_backward_input(tmp.data(), s->dr2.data(), w.attprojw, N, C, C);
  s->dqkv.resize(N * 3 * C);
  attention_backward(s->dqkv.data(), tmp.data(), s->qkv.data(), s->att.data(), B, T, C, NH);
  s->dln1.assign(N * C, 0.0f);
  matmul_backward_input(s->dln1.data(), s->dqkv.data(), w.qkvw, N, C, 3 * C);
  std::copy(s->dr2.begin(), s->dr2.end(), dx);  // residual path
  layernorm_backward_input(dx, s->dln1.data(), s->inp.data(), w.ln1w, s->ln1_mean.data(), s->ln1_rstd.data(),
                           N, C);
  s->has_dgrads = true;
}

void block_backward_weight(const BlockGrads& g, const LayerSaved& s, int N, int C) {
  matmul_backward_weight(g.fcprojw, g.fcprojb, s.dy.data(), s.fch_gelu.data(), N, 4 * C, C);
  matmul_backward_weight(g.fcw, g.fcb, s.dfch.data(), s.ln2.data(), N, C, 4 * C);
  layernorm_backward_weight(g.ln2w, g.ln2b, s.dln2.data(), s.r2.data(), s.ln2_mean.data(), s.ln2_rstd.data(),
                            N, C);
  matmul_backward_weight(g.attprojw, g.attprojb, s.dr2.data(), s.atty.data(), N, C, C);
  matmul_backward_weight(g.qkvw, g.qkvb, s.dqkv.data(), s.ln1.data(), N, C, 3 * C);
  layernorm_backward_weight(g.ln1w, g.ln1b, s.dln1.data(), s.inp.data(), s.ln1_mean.data(), s.ln1_rstd.data(),
                            N, C);
}

// One contiguous copy of a stage's weights, read layer by layer.
class ContiguousLayerWeights final : public LayerWeights {
 public:
  ContiguousLayerWeights(const ParamLayout& layout, size_t param_offset, const float* weights)
      : layout_(layout), param_offset_(param_offset), weights_(weights) {}
  const float* Layer(int layer) const override {
    return weights_ + (layout_.layer_offset[layer] - param_offset_);
  }

 private:
  const ParamLayout& layout_;
  size_t param_offset_;
  const float* weights_;
};

}  // namespace

Result<StageModel> StageModel::Create(const GPTConfig& cfg, int first, int last) {
  PACI_RETURN_IF_ERROR(gpt_config_validate(cfg));
  const int n = gpt_num_layers(cfg);
  if (first < 0 || first >= last || last > n)
    return Status::InvalidArgument("stage layers [" + std::to_string(first) + ", " + std::to_string(last) +
                                   ") are not a non-empty slice of [0, " + std::to_string(n) + ")");
  if (cfg.tie && !(first == 0 && last == n))
    return Status::InvalidArgument("--tie needs the embedding and the head in the same stage");
  return StageModel(cfg, first, last);
}

StageModel::StageModel(const GPTConfig& cfg, int first, int last)
    : cfg_(cfg), layout_(gpt_param_layout(cfg)), first_(first), last_(last) {}

const float* StageModel::tensor(const float* base, const char* name) const {
  const ParamSpec* s = param_find(layout_, name);
  PACI_CHECK(s != nullptr && s->offset >= param_offset());
  return base + (s->offset - param_offset());
}

float* StageModel::tensor(float* base, const char* name) const {
  return const_cast<float*>(tensor(static_cast<const float*>(base), name));
}

const float* StageModel::layer_tensor(const float* layer_weights, int layer, const char* name) const {
  const ParamSpec* s = param_find(layout_, name);
  PACI_CHECK(s != nullptr && s->offset >= layout_.layer_offset[layer] &&
             s->offset < layout_.layer_offset[layer + 1]);
  return layer_weights + (s->offset - layout_.layer_offset[layer]);
}

bool StageModel::backward_reads_weights(int layer) const {
  return gpt_layer_kind(cfg_, layer) != LayerKind::kEmbedding;
}

void StageModel::forward(const float* weights, const StageInput& in, int B, int T, StageSaved* saved,
                         std::vector<float>* out, StageScratch* scratch) const {
  forward(ContiguousLayerWeights(layout_, param_offset(), weights), in, B, T, saved, out, scratch);
}

void StageModel::backward_input(const float* weights, StageSaved* saved, const float* dout,
                                std::vector<float>* dinp, StageScratch* scratch) const {
  backward_input(ContiguousLayerWeights(layout_, param_offset(), weights), saved, dout, dinp, scratch);
}

void StageModel::backward(const float* weights, StageSaved* saved, const float* dout,
                          std::vector<float>* dinp, float* grads, StageScratch* scratch) const {
  backward(ContiguousLayerWeights(layout_, param_offset(), weights), saved, dout, dinp, grads, scratch);
}

void StageModel::forward(const LayerWeights& weights, const StageInput& in, int B, int T, StageSaved* saved,
                         std::vector<float>* out, StageScratch* scratch) const {
  const int C = cfg_.n_embd, V = cfg_.vocab_size, N = B * T;
  PACI_CHECK(T >= 1 && T <= cfg_.block_size && B >= 1);
  PACI_CHECK(has_embedding() ? in.tokens != nullptr : in.acts != nullptr);
  PACI_CHECK(!has_head() || in.targets != nullptr);
  saved->B = B, saved->T = T;
  saved->layers.resize(last_ - first_);
  StageScratch local;
  StageScratch& sc = scratch ? *scratch : local;
  std::vector<float>& cur = sc.cur;
  std::vector<float>& next = sc.next;
  cur.clear();
  next.assign(static_cast<size_t>(N) * C, 0.0f);
  if (!has_embedding()) cur.assign(in.acts, in.acts + static_cast<size_t>(N) * C);
  for (int l = first_; l < last_; l++) {
    LayerSaved* s = &saved->layers[l - first_];
    const float* w = weights.Layer(l);
    switch (gpt_layer_kind(cfg_, l)) {
      case LayerKind::kEmbedding:
        s->tokens.assign(in.tokens, in.tokens + N);
        cur.resize(static_cast<size_t>(N) * C);
        encoder_forward(cur.data(), in.tokens, layer_tensor(w, l, "transformer.wte.weight"),
                        layer_tensor(w, l, "transformer.wpe.weight"), B, T, C);
        break;
      case LayerKind::kBlock:
        block_forward(block_weights(w, C), cur.data(), s, next.data(), B, T, C, cfg_.n_head);
        cur.swap(next);
        break;
      case LayerKind::kHead: {
        s->inp = cur;
        s->ln1.resize(N * C), s->ln1_mean.resize(N), s->ln1_rstd.resize(N);
        s->logits.resize(static_cast<size_t>(N) * V), s->probs.resize(static_cast<size_t>(N) * V);
        s->losses.resize(N);
        s->targets.assign(in.targets, in.targets + N);
        layernorm_forward(s->ln1.data(), s->ln1_mean.data(), s->ln1_rstd.data(), cur.data(),
                          layer_tensor(w, l, "transformer.ln_f.weight"),
                          layer_tensor(w, l, "transformer.ln_f.bias"), N, C);
        // Asked for after ln_f's last use: a tied head's matrix is layer 0's.
        const float* wlm = cfg_.tie ? layer_tensor(weights.Layer(0), 0, "transformer.wte.weight")
                                    : layer_tensor(w, l, "lm_head.weight");
        matmul_forward(s->logits.data(), s->ln1.data(), wlm, nullptr, N, C, V);
        crossentropy_forward(s->losses.data(), s->probs.data(), s->logits.data(), in.targets, N, V);
        double sum = 0.0;
        for (float x : s->losses) sum += x;
        saved->loss = static_cast<float>(sum / N);
        cur.assign(1, saved->loss);
        break;
      }
    }
    s->has_dgrads = false;
  }
  out->swap(cur);
}

void StageModel::backward_input(const LayerWeights& weights, StageSaved* saved, const float* dout,
                                std::vector<float>* dinp, StageScratch* scratch) const {
  const int B = saved->B, T = saved->T, C = cfg_.n_embd, V = cfg_.vocab_size, N = B * T;
  PACI_CHECK(static_cast<int>(saved->layers.size()) == last_ - first_);
  StageScratch local;
  StageScratch& sc = scratch ? *scratch : local;
  std::vector<float>& d = sc.cur;
  std::vector<float>& dprev = sc.next;
  d.clear();
  dprev.assign(static_cast<size_t>(N) * C, 0.0f);
  if (!has_head()) d.assign(dout, dout + static_cast<size_t>(N) * C);
  for (int l = last_ - 1; l >= first_; l--) {
    LayerSaved* s = &saved->layers[l - first_];
    // Asked for only where used: the embedding's backward reads no weights.
    switch (gpt_layer_kind(cfg_, l)) {
      case LayerKind::kHead: {
        s->dlogits.resize(static_cast<size_t>(N) * V);
        crossentropy_backward(s->dlogits.data(), s->probs.data(), s->targets.data(), dout[0] / N, N, V);
        const float* wlm = cfg_.tie ? layer_tensor(weights.Layer(0), 0, "transformer.wte.weight")
                                    : layer_tensor(weights.Layer(l), l, "lm_head.weight");
        s->dln1.assign(static_cast<size_t>(N) * C, 0.0f);
        matmul_backward_input(s->dln1.data(), s->dlogits.data(), wlm, N, C, V);
        d.assign(static_cast<size_t>(N) * C, 0.0f);
        layernorm_backward_input(d.data(), s->dln1.data(), s->inp.data(),
                                 layer_tensor(weights.Layer(l), l, "transformer.ln_f.weight"),
                                 s->ln1_mean.data(), s->ln1_rstd.data(), N, C);
        break;
      }
      case LayerKind::kBlock:
        block_backward_input(block_weights(weights.Layer(l), C), s, d.data(), dprev.data(), B, T, C,
                             cfg_.n_head, sc.tmp);
        d.swap(dprev);
        break;
      case LayerKind::kEmbedding:
        s->dy = d;
        d.clear();
        break;
    }
    s->has_dgrads = true;
  }
  dinp->swap(d);
}

void StageModel::backward_weight(StageSaved* saved, float* grads) const {
  const int N = saved->B * saved->T, C = cfg_.n_embd, V = cfg_.vocab_size;
  for (int l = last_ - 1; l >= first_; l--) {
    const LayerSaved& s = saved->layers[l - first_];
    PACI_CHECK(s.has_dgrads);  // backward_input must run first
    float* g = grads + (layout_.layer_offset[l] - param_offset());
    switch (gpt_layer_kind(cfg_, l)) {
      case LayerKind::kHead: {
        float* glm = tensor(grads, cfg_.tie ? "transformer.wte.weight" : "lm_head.weight");
        matmul_backward_weight(glm, nullptr, s.dlogits.data(), s.ln1.data(), N, C, V);
        layernorm_backward_weight(tensor(grads, "transformer.ln_f.weight"),
                                  tensor(grads, "transformer.ln_f.bias"), s.dln1.data(), s.inp.data(),
                                  s.ln1_mean.data(), s.ln1_rstd.data(), N, C);
        break;
      }
      case LayerKind::kBlock: block_backward_weight(block_grads(g, C), s, N, C); break;
      case LayerKind::kEmbedding:
        encoder_backward_weight(tensor(grads, "transformer.wte.weight"),
                                tensor(grads, "transformer.wpe.weight"), s.dy.data(), s.tokens.data(),
                                saved->B, saved->T, C);
        break;
    }
  }
}

void StageModel::backward(const LayerWeights& weights, StageSaved* saved, const float* dout,
                          std::vector<float>* dinp, float* grads, StageScratch* scratch) const {
  backward_input(weights, saved, dout, dinp, scratch);
  backward_weight(saved, grads);
}

void StageModel::reserve(int B, int T, StageSaved* saved, StageScratch* scratch) const {
  const size_t N = static_cast<size_t>(B) * T, C = cfg_.n_embd, V = cfg_.vocab_size, NH = cfg_.n_head;
  const size_t NC = N * C;
  saved->layers.resize(last_ - first_);
  for (int l = first_; l < last_; l++) {
    LayerSaved& s = saved->layers[l - first_];
    switch (gpt_layer_kind(cfg_, l)) {
      case LayerKind::kEmbedding: s.tokens.reserve(N), s.dy.reserve(NC); break;
      case LayerKind::kBlock:
        for (std::vector<float>* v :
             {&s.inp, &s.ln1, &s.atty, &s.r2, &s.ln2, &s.dy, &s.dln2, &s.dr2, &s.dln1})
          v->reserve(NC);
        for (std::vector<float>* v : {&s.ln1_mean, &s.ln1_rstd, &s.ln2_mean, &s.ln2_rstd}) v->reserve(N);
        for (std::vector<float>* v : {&s.fch, &s.fch_gelu, &s.dfch}) v->reserve(4 * NC);
        s.qkv.reserve(3 * NC), s.dqkv.reserve(3 * NC);
        s.att.reserve(static_cast<size_t>(B) * NH * T * T);
        break;
      case LayerKind::kHead:
        for (std::vector<float>* v : {&s.inp, &s.ln1, &s.dln1}) v->reserve(NC);
        s.ln1_mean.reserve(N), s.ln1_rstd.reserve(N), s.losses.reserve(N), s.targets.reserve(N);
        s.logits.reserve(N * V), s.probs.reserve(N * V), s.dlogits.reserve(N * V);
        break;
    }
  }
  if (scratch) {
    scratch->cur.reserve(NC), scratch->next.reserve(NC), scratch->tmp.reserve(4 * NC);
  }
}

}  // namespace paci::exec
