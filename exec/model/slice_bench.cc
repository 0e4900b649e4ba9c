#include "exec/model/slice_bench.h"

#include "exec/model/rng.h"

namespace paci::exec {
namespace {

StageInput InputOf(const SliceBench& b) {
  StageInput in;
  if (b.model.has_embedding())
    in.tokens = b.tokens.data();
  else
    in.acts = b.acts.data();
  if (b.model.has_head()) in.targets = b.targets.data();
  return in;
}

}  // namespace

Result<SliceBench> SliceBench::Create(const GPTConfig& cfg, int first, int last, int B, uint64_t seed,
                                      int records) {
  Result<StageModel> m = StageModel::Create(cfg, first, last);
  if (!m.ok()) return m.status();
  SliceBench b;
  b.model = *m;
  b.B = B;
  b.T = cfg.block_size;
  const ParamLayout layout = gpt_param_layout(cfg);
  std::vector<float> all(layout.total);
  gpt_init_params(cfg, layout, seed, all.data());
  b.params.assign(all.begin() + static_cast<long>(b.model.param_offset()),
                  all.begin() + static_cast<long>(b.model.param_offset() + b.model.num_params()));
  b.grads.assign(b.params.size(), 0.0f);
  b.opt = adamw_create(AdamWConfig{}, layout, b.model.param_offset(), b.model.num_params());
  Rng rng{seed * 7919 + static_cast<uint64_t>(first)};
  const size_t n = static_cast<size_t>(B) * b.T;
  b.tokens.resize(n);
  b.targets.resize(n);
  for (size_t i = 0; i < n; ++i) {
    b.tokens[i] = static_cast<int>(rng_below(&rng, static_cast<uint64_t>(cfg.vocab_size)));
    b.targets[i] = static_cast<int>(rng_below(&rng, static_cast<uint64_t>(cfg.vocab_size)));
  }
  b.acts.resize(n * static_cast<size_t>(cfg.n_embd));
  b.dout.resize(b.acts.size());
  for (float& x : b.acts) x = rng_normal(&rng);
  for (float& x : b.dout) x = 1e-3f * rng_normal(&rng);
  b.records.resize(static_cast<size_t>(records < 1 ? 1 : records));
  for (size_t r = 0; r < b.records.size(); ++r) b.Forward(static_cast<int>(r));
  return b;
}

void SliceBench::Forward(int record) {
  model.forward(params.data(), InputOf(*this), B, T, &records[static_cast<size_t>(record)], &out);
}

void SliceBench::BackwardInput(int record) {
  const float dloss = 1.0f;
  model.backward_input(params.data(), &records[static_cast<size_t>(record)],
                       model.has_head() ? &dloss : dout.data(), &dinp);
}

void SliceBench::BackwardWeight(int record) {
  model.backward_weight(&records[static_cast<size_t>(record)], grads.data());
}

void SliceBench::Optimizer() { adamw_update(&opt, params.data(), grads.data(), 1e-5f); }

uint64_t ForwardSavedBytes(const StageSaved& s) {
  uint64_t bytes = 0;
  for (const LayerSaved& l : s.layers) {
    for (const std::vector<float>* v :
         {&l.inp, &l.ln1, &l.ln1_mean, &l.ln1_rstd, &l.qkv, &l.atty, &l.att, &l.r2, &l.ln2, &l.ln2_mean,
          &l.ln2_rstd, &l.fch, &l.fch_gelu, &l.logits, &l.probs, &l.losses})
      bytes += v->capacity() * sizeof(float);
    bytes += (l.tokens.capacity() + l.targets.capacity()) * sizeof(int);
  }
  return bytes;
}

}  // namespace paci::exec
