// Per-layer forward/backward of a stage on the GPU; the same sequence of kernels as exec/model/stage.cc,
// with one difference in data movement: each layer writes its output straight into the next
// layer's saved input (and each backward its input-gradient into the layer below's saved dy), so
// no activation is copied twice. See stage_cuda.h.
#include "exec/cuda/stage_cuda.h"

#include <algorithm>

#include "exec/cuda/attention.cuh"
#include "exec/cuda/crossentropy.cuh"
#include "exec/cuda/elementwise.cuh"
#include "exec/cuda/encoder.cuh"
#include "exec/cuda/layernorm.cuh"
#include "exec/cuda/matmul.cuh"

namespace paci::exec {

namespace {

template <typename T>
T* take(DeviceBuffer& b, size_t n) {
  b.reserve(n * sizeof(T));
  return b.as<T>();
}

template <typename T>
void copy_async(T* dst, const T* src, size_t n, cudaStream_t stream) {
  CUDA_CHECK(cudaMemcpyAsync(dst, src, n * sizeof(T), cudaMemcpyDeviceToDevice, stream));
}

// The X-typed twin of a block's weights: same offsets from the block's first parameter.
template <typename X>
struct BlockWeightsX {
  const X *qkvw, *attprojw, *fcw, *fcprojw;
};
template <typename X>
BlockWeightsX<X> block_weights_x(const BlockWeights& w, const float* wm, const X* wx) {
  auto at = [&](const float* p) { return wx + (p - wm); };
  return {at(w.qkvw), at(w.attprojw), at(w.fcw), at(w.fcprojw)};
}

// x is s->inp (already filled); y is the next layer's input buffer or the stage output.
template <typename X>
void block_forward(const CudaContext& ctx, const BlockWeights& w, const BlockWeightsX<X>& wx,
                   LayerSavedCuda* s, X* y, X* att_scratch, int B, int T, int C, int NH) {
  const int N = B * T;
  const long nc = static_cast<long>(N) * C;
  const cudaStream_t st = ctx.stream;
  const X* x = s->inp.as<X>();
  X* ln1 = take<X>(s->ln1, nc);
  X* qkv = take<X>(s->qkv, 3 * nc);
  X* atty = take<X>(s->atty, nc);
  X* att = take<X>(s->att, static_cast<size_t>(B) * NH * T * T);
  X* r2 = take<X>(s->r2, nc);
  X* ln2 = take<X>(s->ln2, nc);
  X* fch = take<X>(s->fch, 4 * nc);
  X* fch_gelu = take<X>(s->fch_gelu, 4 * nc);
  float* m1 = take<float>(s->ln1_mean, N);
  float* r1 = take<float>(s->ln1_rstd, N);
  float* m2 = take<float>(s->ln2_mean, N);
  float* rs2 = take<float>(s->ln2_rstd, N);

  layernorm_forward_cuda<X>(ln1, m1, r1, x, w.ln1w, w.ln1b, N, C, st);
  matmul_forward_cuda<X>(ctx, qkv, ln1, wx.qkvw, w.qkvb, N, C, 3 * C);
  attention_forward_cuda<X>(ctx, atty, att, qkv, att_scratch, B, T, C, NH);
  matmul_forward_cuda<X>(ctx, r2, atty, wx.attprojw, w.attprojb, N, C, C);
  residual_forward_cuda<X>(r2, r2, x, nc, st);
  layernorm_forward_cuda<X>(ln2, m2, rs2, r2, w.ln2w, w.ln2b, N, C, st);
  matmul_forward_cuda<X>(ctx, fch, ln2, wx.fcw, w.fcb, N, C, 4 * C);
  gelu_forward_cuda<X>(fch_gelu, fch, 4 * nc, st);
  matmul_forward_cuda<X>(ctx, y, fch_gelu, wx.fcprojw, w.fcprojb, N, 4 * C, C);
  residual_forward_cuda<X>(y, y, r2, nc, st);
}

// dy is s->dy (already filled); dx receives the input-gradient (overwritten).
template <typename X>
void block_backward_input(const CudaContext& ctx, const BlockWeights& w, const BlockWeightsX<X>& wx,
                          LayerSavedCuda* s, X* dx, X* tmp, X* att_scratch, int B, int T, int C, int NH) {
  const int N = B * T;
  const long nc = static_cast<long>(N) * C;
  const cudaStream_t st = ctx.stream;
  const X* dy = s->dy.as<X>();
  X* dfch = take<X>(s->dfch, 4 * nc);
  X* dln2 = take<X>(s->dln2, nc);
  X* dr2 = take<X>(s->dr2, nc);
  X* dqkv = take<X>(s->dqkv, 3 * nc);
  X* dln1 = take<X>(s->dln1, nc);

  matmul_backward_input_cuda<X>(ctx, tmp, dy, wx.fcprojw, N, 4 * C, C, false);  // d(fch_gelu)
  gelu_backward_cuda<X>(dfch, s->fch.as<X>(), tmp, 4 * nc, st);
  matmul_backward_input_cuda<X>(ctx, dln2, dfch, wx.fcw, N, C, 4 * C, false);
  copy_async(dr2, dy, nc, st);  // residual path
  layernorm_backward_input_cuda<X>(dr2, dln2, s->r2.as<X>(), w.ln2w, s->ln2_mean.as<float>(),
                                   s->ln2_rstd.as<float>(), N, C, st);
  matmul_backward_input_cuda<X>(ctx, tmp, dr2, wx.attprojw, N, C, C, false);  // d(atty)
  attention_backward_cuda<X>(ctx, dqkv, tmp, s->qkv.as<X>(), s->att.as<X>(), att_scratch, B, T, C, NH);
  matmul_backward_input_cuda<X>(ctx, dln1, dqkv, wx.qkvw, N, C, 3 * C, false);
  copy_async(dx, static_cast<const X*>(dr2), nc, st);  // residual path
  layernorm_backward_input_cuda<X>(dx, dln1, s->inp.as<X>(), w.ln1w, s->ln1_mean.as<float>(),
                                   s->ln1_rstd.as<float>(), N, C, st);
}

template <typename X>
void block_backward_weight(const CudaContext& ctx, const BlockGrads& g, const LayerSavedCuda& s, int N,
                           int C) {
  const cudaStream_t st = ctx.stream;
  matmul_backward_weight_cuda<X>(ctx, g.fcprojw, g.fcprojb, s.dy.as<X>(), s.fch_gelu.as<X>(), N, 4 * C, C);
  matmul_backward_weight_cuda<X>(ctx, g.fcw, g.fcb, s.dfch.as<X>(), s.ln2.as<X>(), N, C, 4 * C);
  layernorm_backward_weight_cuda<X>(g.ln2w, g.ln2b, s.dln2.as<X>(), s.r2.as<X>(), s.ln2_mean.as<float>(),
                                    s.ln2_rstd.as<float>(), N, C, st);
  matmul_backward_weight_cuda<X>(ctx, g.attprojw, g.attprojb, s.dr2.as<X>(), s.atty.as<X>(), N, C, C);
  matmul_backward_weight_cuda<X>(ctx, g.qkvw, g.qkvb, s.dqkv.as<X>(), s.ln1.as<X>(), N, C, 3 * C);
  layernorm_backward_weight_cuda<X>(g.ln1w, g.ln1b, s.dln1.as<X>(), s.inp.as<X>(), s.ln1_mean.as<float>(),
                                    s.ln1_rstd.as<float>(), N, C, st);
}

}  // namespace

size_t StageSavedCuda::bytes() const {
  size_t b = loss.bytes();
  for (const LayerSavedCuda& l : layers)
    for (const DeviceBuffer* d :
         {&l.tokens, &l.targets,  &l.inp,      &l.ln1,    &l.qkv,      &l.atty,     &l.att,      &l.r2,
          &l.ln2,    &l.fch,      &l.fch_gelu, &l.logits, &l.ln1_mean, &l.ln1_rstd, &l.ln2_mean, &l.ln2_rstd,
          &l.losses, &l.ce_stats, &l.dy,       &l.dfch,   &l.dln2,     &l.dr2,      &l.dqkv,     &l.dln1})
      b += d->bytes();
  return b;
}

Result<StageModelCuda> StageModelCuda::Create(const GPTConfig& cfg, int first, int last,
                                              ir::Precision precision) {
  Result<StageModel> cpu = StageModel::Create(cfg, first, last);
  if (!cpu.ok()) return cpu.status();
  StageModelCuda m;
  m.cpu_ = std::move(*cpu);
  m.precision_ = precision;
  return m;
}

size_t StageModelCuda::offset_of(const char* name) const {
  const ParamSpec* s = param_find(cpu_.layout(), name);
  PACI_CHECK(s != nullptr && s->offset >= cpu_.param_offset());
  return s->offset - cpu_.param_offset();
}

void StageModelCuda::forward(const CudaContext& ctx, const StageWeightsCuda& w, const StageInputCuda& in,
                             int B, int T, StageSavedCuda* saved, void* out) const {
  if (precision_ == ir::PRECISION_FP32) {
    forward_t<float>(ctx, w.master, w.master, in, B, T, saved, static_cast<float*>(out));
  } else {
    PACI_CHECK(w.bf16 != nullptr);
    forward_t<__nv_bfloat16>(ctx, w.master, w.bf16, in, B, T, saved, static_cast<__nv_bfloat16*>(out));
  }
}

void StageModelCuda::backward_input(const CudaContext& ctx, const StageWeightsCuda& w, StageSavedCuda* saved,
                                    const void* dout, float dloss, void* dinp) const {
  if (precision_ == ir::PRECISION_FP32) {
    backward_input_t<float>(ctx, w.master, w.master, saved, static_cast<const float*>(dout), dloss,
                            static_cast<float*>(dinp));
  } else {
    PACI_CHECK(w.bf16 != nullptr);
    backward_input_t<__nv_bfloat16>(ctx, w.master, w.bf16, saved, static_cast<const __nv_bfloat16*>(dout),
                                    dloss, static_cast<__nv_bfloat16*>(dinp));
  }
}

void StageModelCuda::backward_weight(const CudaContext& ctx, StageSavedCuda* saved, float* grads) const {
  if (precision_ == ir::PRECISION_FP32)
    backward_weight_t<float>(ctx, saved, grads);
  else
    backward_weight_t<__nv_bfloat16>(ctx, saved, grads);
}

template <typename X>
void StageModelCuda::forward_t(const CudaContext& ctx, const float* wm, const X* wx, const StageInputCuda& in,
                               int B, int T, StageSavedCuda* saved, X* out) const {
  const GPTConfig& cfg = cpu_.config();
  const int C = cfg.n_embd, V = cfg.vocab_size, NH = cfg.n_head, N = B * T;
  const long nc = static_cast<long>(N) * C;
  const int first = cpu_.first(), last = cpu_.last();
  PACI_CHECK(T >= 1 && T <= cfg.block_size && B >= 1);
  PACI_CHECK(cpu_.has_embedding() ? in.tokens != nullptr : in.acts != nullptr);
  PACI_CHECK(!cpu_.has_head() || in.targets != nullptr);
  const cudaStream_t st = ctx.stream;
  // Resizing another slice's record would free its buffers (cudaFree) and grow the rest to the
  // larger of the two slices; CudaBackend keeps one free list per chunk (record_pool.h).
  PACI_CHECK(saved->layers.empty() || (saved->first == first && saved->last == last));
  saved->first = first, saved->last = last;
  saved->B = B, saved->T = T;
  saved->layers.resize(last - first);
  X* scratch = take<X>(scratch_, attention_scratch_elems(B, T, C, NH) + 4 * nc);
  if (!cpu_.has_embedding())
    copy_async(take<X>(saved->layers[0].inp, nc), static_cast<const X*>(in.acts), nc, st);
  for (int l = first; l < last; l++) {
    LayerSavedCuda* s = &saved->layers[l - first];
    s->has_dgrads = false;
    // Where this layer's (B,T,C) output goes: the next layer's saved input, or the stage output.
    X* y = l + 1 < last ? take<X>(saved->layers[l + 1 - first].inp, nc) : out;
    const size_t base = cpu_.layout().layer_offset[l] - cpu_.param_offset();
    switch (gpt_layer_kind(cfg, l)) {
      case LayerKind::kEmbedding:
        copy_async(take<int>(s->tokens, N), in.tokens, N, st);
        encoder_forward_cuda<X>(y, s->tokens.as<int>(), wm + offset_of("transformer.wte.weight"),
                                wm + offset_of("transformer.wpe.weight"), B, T, C, st);
        break;
      case LayerKind::kBlock: {
        const BlockWeights w = block_weights(wm + base, C);
        block_forward<X>(ctx, w, block_weights_x<X>(w, wm + base, wx + base), s, y, scratch, B, T, C, NH);
        break;
      }
      case LayerKind::kHead: {
        X* ln = take<X>(s->ln1, nc);
        float* mean = take<float>(s->ln1_mean, N);
        float* rstd = take<float>(s->ln1_rstd, N);
        X* logits = take<X>(s->logits, static_cast<size_t>(N) * V);
        float* losses = take<float>(s->losses, N);
        float* stats = take<float>(s->ce_stats, 2 * static_cast<size_t>(N));
        int* targets = take<int>(s->targets, N);
        copy_async(targets, in.targets, N, st);
        layernorm_forward_cuda<X>(ln, mean, rstd, s->inp.as<X>(), wm + offset_of("transformer.ln_f.weight"),
                                  wm + offset_of("transformer.ln_f.bias"), N, C, st);
        const X* wlm = wx + offset_of(cfg.tie ? "transformer.wte.weight" : "lm_head.weight");
        matmul_forward_cuda<X>(ctx, logits, ln, wlm, nullptr, N, C, V);
        crossentropy_forward_cuda<X>(losses, stats, logits, targets, N, V, st);  // logits kept for backward
        mean_loss_cuda(take<float>(saved->loss, 1), losses, N, st);
        break;
      }
    }
  }
}

template <typename X>
void StageModelCuda::backward_input_t(const CudaContext& ctx, const float* wm, const X* wx,
                                      StageSavedCuda* saved, const X* dout, float dloss, X* dinp) const {
  const GPTConfig& cfg = cpu_.config();
  const int B = saved->B, T = saved->T, C = cfg.n_embd, V = cfg.vocab_size, NH = cfg.n_head, N = B * T;
  const long nc = static_cast<long>(N) * C;
  const int first = cpu_.first(), last = cpu_.last();
  PACI_CHECK(static_cast<int>(saved->layers.size()) == last - first);
  PACI_CHECK(cpu_.has_embedding() || dinp != nullptr);
  const cudaStream_t st = ctx.stream;
  X* scratch = take<X>(scratch_, attention_scratch_elems(B, T, C, NH) + 4 * nc);
  X* tmp = scratch + attention_scratch_elems(B, T, C, NH);
  if (!cpu_.has_head()) {
    PACI_CHECK(dout != nullptr);
    copy_async(take<X>(saved->layers.back().dy, nc), dout, nc, st);
  }
  for (int l = last - 1; l >= first; l--) {
    LayerSavedCuda* s = &saved->layers[l - first];
    // Where this layer's input-gradient goes: the saved dy of the layer below, or the stage's dinp.
    X* dx = l > first ? take<X>(saved->layers[l - 1 - first].dy, nc) : dinp;
    const size_t base = cpu_.layout().layer_offset[l] - cpu_.param_offset();
    switch (gpt_layer_kind(cfg, l)) {
      case LayerKind::kHead: {
        X* dlogits = s->logits.as<X>();  // over the logits; probabilities recomputed in fp32
        crossentropy_backward_cuda<X>(dlogits, dlogits, s->ce_stats.as<float>(), s->targets.as<int>(),
                                      dloss / N, N, V, st);
        const X* wlm = wx + offset_of(cfg.tie ? "transformer.wte.weight" : "lm_head.weight");
        X* dln = take<X>(s->dln1, nc);
        matmul_backward_input_cuda<X>(ctx, dln, dlogits, wlm, N, C, V, false);
        CUDA_CHECK(cudaMemsetAsync(dx, 0, nc * sizeof(X), st));
        layernorm_backward_input_cuda<X>(dx, dln, s->inp.as<X>(), wm + offset_of("transformer.ln_f.weight"),
                                         s->ln1_mean.as<float>(), s->ln1_rstd.as<float>(), N, C, st);
        break;
      }
      case LayerKind::kBlock: {
        const BlockWeights w = block_weights(wm + base, C);
        block_backward_input<X>(ctx, w, block_weights_x<X>(w, wm + base, wx + base), s, dx, tmp, scratch, B,
                                T, C, NH);
        break;
      }
      case LayerKind::kEmbedding: break;  // its dy (filled by the layer above) is all backward_weight needs
    }
    s->has_dgrads = true;
  }
}

template <typename X>
void StageModelCuda::backward_weight_t(const CudaContext& ctx, StageSavedCuda* saved, float* grads) const {
  const GPTConfig& cfg = cpu_.config();
  const int N = saved->B * saved->T, C = cfg.n_embd, V = cfg.vocab_size;
  const int first = cpu_.first(), last = cpu_.last();
  const cudaStream_t st = ctx.stream;
  for (int l = last - 1; l >= first; l--) {
    const LayerSavedCuda& s = saved->layers[l - first];
    PACI_CHECK(s.has_dgrads);  // backward_input must run first
    float* g = grads + (cpu_.layout().layer_offset[l] - cpu_.param_offset());
    switch (gpt_layer_kind(cfg, l)) {
      case LayerKind::kHead:
        matmul_backward_weight_cuda<X>(
            ctx, grads + offset_of(cfg.tie ? "transformer.wte.weight" : "lm_head.weight"), nullptr,
            s.logits.as<X>(), s.ln1.as<X>(), N, C, V);
        layernorm_backward_weight_cuda<X>(
            grads + offset_of("transformer.ln_f.weight"), grads + offset_of("transformer.ln_f.bias"),
            s.dln1.as<X>(), s.inp.as<X>(), s.ln1_mean.as<float>(), s.ln1_rstd.as<float>(), N, C, st);
        break;
      case LayerKind::kBlock: block_backward_weight<X>(ctx, block_grads(g, C), s, N, C); break;
      case LayerKind::kEmbedding:
        encoder_backward_weight_cuda<X>(grads + offset_of("transformer.wte.weight"),
                                        grads + offset_of("transformer.wpe.weight"), s.dy.as<X>(),
                                        s.tokens.as<int>(), saved->B, saved->T, C, st);
        break;
    }
  }
}

AdamWCuda adamw_cuda_create(const AdamWConfig& cfg, const ParamLayout& layout, size_t param_offset, size_t n,
                            cudaStream_t stream) {
  const AdamW host = adamw_create(cfg, layout, param_offset, n);
  AdamWCuda opt;
  opt.cfg = cfg;
  opt.param_offset = param_offset;
  opt.m.reserve(n * sizeof(float));
  opt.v.reserve(n * sizeof(float));
  opt.decay.reserve(n);
  // On the stream the updates will run on (a legacy-stream memset or copy is not ordered before a
  // non-blocking stream's kernels), then wait: `host` is a local, and the caller may hand the state
  // to any stream.
  CUDA_CHECK(cudaMemsetAsync(opt.m.get(), 0, n * sizeof(float), stream));
  CUDA_CHECK(cudaMemsetAsync(opt.v.get(), 0, n * sizeof(float), stream));
  CUDA_CHECK(cudaMemcpyAsync(opt.decay.get(), host.decay.data(), n, cudaMemcpyHostToDevice, stream));
  CUDA_CHECK(cudaStreamSynchronize(stream));
  return opt;
}

void adamw_cuda_update(AdamWCuda* opt, float* params, const float* grads, float lr,
                       __nv_bfloat16* params_bf16, cudaStream_t stream) {
  opt->step++;
  adamw_update_cuda(opt->state(), opt->cfg, opt->step, params, grads, lr, params_bf16, stream);
}

float stage_loss_cuda(const StageSavedCuda& saved, cudaStream_t stream) {
  float loss = 0.0f;
  CUDA_CHECK(cudaMemcpyAsync(&loss, saved.loss.get(), sizeof(float), cudaMemcpyDeviceToHost, stream));
  CUDA_CHECK(cudaStreamSynchronize(stream));
  return loss;
}

}  // namespace paci::exec
