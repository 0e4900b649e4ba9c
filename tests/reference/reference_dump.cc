// Writes what tests/reference/check_against_torch.py compares with PyTorch: the initial weights
// (nanoGPT names), one batch, our logits, loss and every gradient, then the weights after 3 AdamW
// updates on that batch (with warm-up/cosine learning rates and clipping, as `paci train` does).
// Usage: exec_reference_dump OUT_DIR [--tie]
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "exec/model/adamw.h"
#include "exec/model/checkpoint.h"
#include "exec/model/rng.h"
#include "exec/model/safetensors.h"
#include "exec/model/stage.h"

using namespace paci;
using namespace paci::exec;

namespace {

constexpr int kB = 3, kT = 16, kSteps = 3;
constexpr float kLr = 1e-3f, kClip = 1.0f;

int fail(const Status& st) {
  std::fprintf(stderr, "exec_reference_dump: %s\n", st.message().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: exec_reference_dump OUT_DIR [--tie]\n");
    return 2;
  }
  const std::string dir = argv[1];
  GPTConfig cfg;
  cfg.vocab_size = 96;
  cfg.block_size = kT;
  cfg.n_layer = 2;
  cfg.n_head = 4;
  cfg.n_embd = 32;
  cfg.tie = argc > 2 && std::strcmp(argv[2], "--tie") == 0;
  const StageModel m = StageModel::Create(cfg, 0, gpt_num_layers(cfg)).value();
  const ParamLayout& L = m.layout();
  std::vector<float> params(L.total), grads(L.total, 0.0f);
  gpt_init_params(cfg, L, 1234, params.data());
  Status st = weights_save(dir + "/weights.safetensors", cfg, params.data(), {});
  if (!st.ok()) return fail(st);

  Rng r{99};
  std::vector<int> tokens(kB * kT), targets(kB * kT);
  std::vector<float> tok_f(kB * kT), tgt_f(kB * kT);  // safetensors F32 holds ids < 2^24 exactly
  for (int i = 0; i < kB * kT; i++) tok_f[i] = static_cast<float>(tokens[i] = static_cast<int>(rng_below(&r, cfg.vocab_size)));
  for (int i = 0; i < kB * kT; i++) tgt_f[i] = static_cast<float>(targets[i] = static_cast<int>(rng_below(&r, cfg.vocab_size)));

  StageInput in;
  in.tokens = tokens.data();
  in.targets = targets.data();
  StageSaved saved;
  std::vector<float> out, dinp;
  const float one = 1.0f;
  m.forward(params.data(), in, kB, kT, &saved, &out);
  m.backward(params.data(), &saved, &one, &dinp, grads.data());
  // Copies: the training steps below reuse grads and saved.
  const std::vector<float> logits = saved.layers.back().logits, grads0 = grads;
  const float loss0 = saved.loss;
  std::vector<SafeTensorRef> refs = {{"tokens", {kB, kT}, tok_f.data()},
                                     {"targets", {kB, kT}, tgt_f.data()},
                                     {"logits", {kB, kT, cfg.vocab_size}, logits.data()},
                                     {"loss", {1}, &loss0}};
  for (const ParamSpec& s : L.tensors) refs.push_back({"grad." + s.name, s.shape, grads0.data() + s.offset});

  AdamW opt = adamw_create(AdamWConfig{}, L, 0, L.total);
  std::string lrs, losses;
  for (int k = 0; k < kSteps; k++) {
    std::fill(grads.begin(), grads.end(), 0.0f);
    m.forward(params.data(), in, kB, kT, &saved, &out);
    m.backward(params.data(), &saved, &one, &dinp, grads.data());
    const float scale = grad_clip_scale(grad_sq_norm(grads.data(), grads.size()), kClip);
    const float lr = lr_schedule(opt.step, kLr, 1, kSteps, 0.1f);
    adamw_update(&opt, params.data(), grads.data(), lr, scale);
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%s%.9g", k ? "," : "", lr);
    lrs += buf;
    std::snprintf(buf, sizeof(buf), "%s%.9g", k ? "," : "", saved.loss);
    losses += buf;
  }
  st = safetensors_write(dir + "/ours.safetensors", refs,
                         {{"lrs", lrs}, {"losses", losses}, {"clip", "1.0"}, {"tie", cfg.tie ? "1" : "0"},
                          {"n_layer", "2"}, {"n_head", "4"}});
  if (!st.ok()) return fail(st);
  st = weights_save(dir + "/after3.safetensors", cfg, params.data(), {});
  if (!st.ok()) return fail(st);
  std::printf("wrote %s/{weights,ours,after3}.safetensors\n", dir.c_str());
  return 0;
}
