// Finite-difference checks of every layer's hand-written backward (embedding, transformer block,
// head; tied and untied), for input gradients and every weight tensor. The model runs in fp32, so
// the check uses central differences with eps = 1e-2 and accepts a tensor when
//   max_i |analytic_i - numeric_i| <= kTol * max(max_i |numeric_i|, 1e-3),   kTol = 2e-2,
// over up to 24 sampled entries per tensor. A sign or index error gives errors of order 1.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <functional>

#include "exec/model/stage.h"
#include "tests/exec/test_util.h"

namespace paci::exec {
namespace {

constexpr double kEps = 1e-2;
constexpr double kTol = 2e-2;
constexpr int kB = 2, kT = 5;

GPTConfig tiny_config(bool tie) {
  GPTConfig c;
  c.vocab_size = 32;
  c.block_size = 6;
  c.n_layer = 2;
  c.n_head = 2;
  c.n_embd = 8;
  c.tie = tie;
  return c;
}

// Random inputs for a stage: tokens, activations, targets, and the projection R of the objective
// f = sum(out * R) (or f = mean loss for a stage that holds the head).
struct Case {
  StageModel stage;
  std::vector<float> weights, acts, R;
  std::vector<int> tokens, targets;
};

Case make_case(const GPTConfig& cfg, int first, int last, uint64_t seed) {
  Case k;
  k.stage = StageModel::Create(cfg, first, last).value();
  std::vector<float> all;
  testing::random_params(k.stage.layout(), seed, &all);
  k.weights.assign(all.begin() + k.stage.param_offset(), all.begin() + k.stage.param_offset() + k.stage.num_params());
  Rng r{seed + 1};
  const int N = kB * kT, C = cfg.n_embd;
  for (int i = 0; i < N; i++) k.tokens.push_back(static_cast<int>(rng_below(&r, cfg.vocab_size)));
  for (int i = 0; i < N; i++) k.targets.push_back(static_cast<int>(rng_below(&r, cfg.vocab_size)));
  for (int i = 0; i < N * C; i++) k.acts.push_back(rng_normal(&r));
  for (int i = 0; i < N * C; i++) k.R.push_back(rng_normal(&r));
  return k;
}

double objective(const Case& k, const std::vector<float>& w, const std::vector<float>& acts) {
  StageInput in;
  in.tokens = k.tokens.data();
  in.acts = k.stage.has_embedding() ? nullptr : acts.data();
  in.targets = k.targets.data();
  StageSaved saved;
  std::vector<float> out;
  k.stage.forward(w.data(), in, kB, kT, &saved, &out);
  double f = 0.0;
  if (k.stage.has_head()) {
    for (float l : saved.layers.back().losses) f += l;
    return f / (kB * kT);
  }
  for (size_t i = 0; i < out.size(); i++) f += static_cast<double>(out[i]) * k.R[i];
  return f;
}

// Compares analytic gradient `g` of the float array `x` (which `f` reads) with central differences.
void check(const std::string& what, std::vector<float>* x, size_t offset, size_t n, const float* g,
           const std::function<double()>& f) {
  double max_err = 0.0, max_num = 0.0;
  const size_t stride = n > 24 ? n / 24 : 1;
  for (size_t i = 0; i < n; i += stride) {
    float& xi = (*x)[offset + i];
    const float saved = xi;
    xi = saved + static_cast<float>(kEps);
    const double fp = f();
    xi = saved - static_cast<float>(kEps);
    const double fm = f();
    xi = saved;
    const double num = (fp - fm) / (2 * kEps);
    max_err = std::max(max_err, std::fabs(num - g[i]));
    max_num = std::max(max_num, std::fabs(num));
  }
  const double bound = kTol * std::max(max_num, 1e-3);
  std::printf("  %-40s max|analytic-numeric| %.3e  bound %.3e  (max|grad| %.3e)\n", what.c_str(), max_err, bound,
              max_num);
  EXPECT_LE(max_err, bound) << what;
}

// Runs the stage's backward once and checks dX (if any) and every weight tensor of the stage.
void check_stage(Case& k) {
  StageInput in;
  in.tokens = k.tokens.data();
  in.acts = k.stage.has_embedding() ? nullptr : k.acts.data();
  in.targets = k.targets.data();
  StageSaved saved;
  std::vector<float> out, dinp, grads(k.stage.num_params(), 0.0f);
  k.stage.forward(k.weights.data(), in, kB, kT, &saved, &out);
  const float one = 1.0f;
  k.stage.backward(k.weights.data(), &saved, k.stage.has_head() ? &one : k.R.data(), &dinp, grads.data());
  auto f = [&] { return objective(k, k.weights, k.acts); };
  if (!k.stage.has_embedding()) {
    ASSERT_EQ(dinp.size(), k.acts.size());
    check("dX (stage input)", &k.acts, 0, k.acts.size(), dinp.data(), f);
  } else {
    EXPECT_TRUE(dinp.empty());
  }
  for (const ParamSpec& s : k.stage.layout().tensors) {
    if (s.offset < k.stage.param_offset() || s.offset >= k.stage.param_offset() + k.stage.num_params()) continue;
    const size_t off = s.offset - k.stage.param_offset();
    check(s.name, &k.weights, off, s.numel, grads.data() + off, f);
  }
}

TEST(GradCheck, Embedding) {
  Case k = make_case(tiny_config(false), 0, 1, 11);
  check_stage(k);
}

TEST(GradCheck, TransformerBlock) {
  Case k = make_case(tiny_config(false), 1, 2, 12);
  check_stage(k);
}

TEST(GradCheck, Head) {
  Case k = make_case(tiny_config(false), 3, 4, 13);
  check_stage(k);
}

TEST(GradCheck, WholeModelTied) {
  Case k = make_case(tiny_config(true), 0, 4, 14);
  check_stage(k);
}

TEST(GradCheck, WholeModelUntiedTwoBlocks) {
  Case k = make_case(tiny_config(false), 0, 4, 15);
  check_stage(k);
}

}  // namespace
}  // namespace paci::exec
