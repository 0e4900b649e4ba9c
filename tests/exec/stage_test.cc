// StageModel as a pipeline runtime uses it: slices compose to the whole model bit for bit, several
// micro-batches can be in flight in separate records, B and W parts can run apart, and the
// backward uses exactly the weights it is given (live vs stashed).
#include <gtest/gtest.h>

#include "exec/model/stage.h"
#include "tests/exec/test_util.h"

namespace paci::exec {
namespace {

constexpr int kB = 2, kT = 8;

GPTConfig config() {
  GPTConfig c;
  c.vocab_size = 40;
  c.block_size = kT;
  c.n_layer = 3;
  c.n_head = 2;
  c.n_embd = 16;
  return c;
}

struct Batch {
  std::vector<int> tokens, targets;
};

Batch make_batch(uint64_t seed, int V) {
  Rng r{seed};
  Batch b;
  for (int i = 0; i < kB * kT; i++) b.tokens.push_back(static_cast<int>(rng_below(&r, V)));
  for (int i = 0; i < kB * kT; i++) b.targets.push_back(static_cast<int>(rng_below(&r, V)));
  return b;
}

// Loss and whole-model gradients, running the model as the given stages in sequence.
float run_stages(const std::vector<StageModel>& stages, const std::vector<float>& params, const Batch& batch,
                 std::vector<float>* grads) {
  std::vector<StageSaved> saved(stages.size());
  std::vector<float> act;
  for (size_t s = 0; s < stages.size(); s++) {
    StageInput in;
    in.tokens = batch.tokens.data();
    in.acts = act.data();
    in.targets = batch.targets.data();
    std::vector<float> out;
    stages[s].forward(params.data() + stages[s].param_offset(), in, kB, kT, &saved[s], &out);
    act.swap(out);
  }
  const float loss = act[0];
  grads->assign(stages[0].layout().total, 0.0f);
  std::vector<float> d(1, 1.0f);
  for (size_t s = stages.size(); s-- > 0;) {
    std::vector<float> dinp;
    stages[s].backward(params.data() + stages[s].param_offset(), &saved[s], d.data(), &dinp,
                       grads->data() + stages[s].param_offset());
    d.swap(dinp);
  }
  return loss;
}

TEST(Stage, SlicesComposeToTheWholeModelExactly) {
  const GPTConfig cfg = config();
  std::vector<float> params;
  testing::random_params(gpt_param_layout(cfg), 3, &params);
  const Batch batch = make_batch(4, cfg.vocab_size);
  std::vector<float> g_whole, g_split;
  const float l_whole = run_stages({StageModel::Create(cfg, 0, 5).value()}, params, batch, &g_whole);
  const float l_split = run_stages({StageModel::Create(cfg, 0, 2).value(), StageModel::Create(cfg, 2, 3).value(),
                                    StageModel::Create(cfg, 3, 5).value()},
                                   params, batch, &g_split);
  EXPECT_EQ(l_whole, l_split);
  EXPECT_EQ(g_whole, g_split);
  EXPECT_GT(l_whole, 0.0f);
}

TEST(Stage, CreateRejectsBadSlices) {
  GPTConfig cfg = config();
  EXPECT_FALSE(StageModel::Create(cfg, 2, 2).ok());
  EXPECT_FALSE(StageModel::Create(cfg, 0, 6).ok());
  cfg.tie = true;
  Result<StageModel> r = StageModel::Create(cfg, 0, 2);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("--tie"), std::string::npos);
  cfg.n_embd = 15;
  EXPECT_NE(StageModel::Create(cfg, 0, 5).status().message().find("--dim"), std::string::npos);
}

TEST(Stage, InFlightMicrobatchesAndSplitBackwardMatchOneAtATime) {
  const GPTConfig cfg = config();
  const StageModel m = StageModel::Create(cfg, 0, 5).value();
  std::vector<float> params;
  testing::random_params(m.layout(), 5, &params);
  const Batch b1 = make_batch(6, cfg.vocab_size), b2 = make_batch(7, cfg.vocab_size);
  std::vector<float> g1, g2;
  run_stages({m}, params, b1, &g1);
  run_stages({m}, params, b2, &g2);

  // Two forwards in flight, then B of both, then W of both in reverse order.
  StageSaved s1, s2;
  std::vector<float> out, dinp, grads(m.num_params(), 0.0f);
  const float one = 1.0f;
  StageInput in1{b1.tokens.data(), nullptr, b1.targets.data()}, in2{b2.tokens.data(), nullptr, b2.targets.data()};
  m.forward(params.data(), in1, kB, kT, &s1, &out);
  m.forward(params.data(), in2, kB, kT, &s2, &out);
  m.backward_input(params.data(), &s1, &one, &dinp);
  m.backward_input(params.data(), &s2, &one, &dinp);
  EXPECT_TRUE(dinp.empty());  // the first stage has no input gradient
  m.backward_weight(&s2, grads.data());
  std::vector<float> only2 = grads;
  m.backward_weight(&s1, grads.data());
  EXPECT_EQ(only2, g2);
  for (size_t i = 0; i < grads.size(); i++) ASSERT_NEAR(grads[i], g1[i] + g2[i], 1e-6f) << i;
}

TEST(Stage, BackwardUsesTheWeightsItIsGiven) {
  const GPTConfig cfg = config();
  const StageModel block = StageModel::Create(cfg, 1, 2).value();
  std::vector<float> all;
  testing::random_params(block.layout(), 8, &all);
  const std::vector<float> stash(all.begin() + block.param_offset(),
                                 all.begin() + block.param_offset() + block.num_params());
  Rng r{9};
  std::vector<float> x(kB * kT * cfg.n_embd), dy(x.size());
  for (float& v : x) v = rng_normal(&r);
  for (float& v : dy) v = rng_normal(&r);
  StageSaved saved;
  std::vector<float> out, dx_stash, dx_live, dx_again;
  StageInput in;
  in.acts = x.data();
  block.forward(stash.data(), in, kB, kT, &saved, &out);
  block.backward_input(stash.data(), &saved, dy.data(), &dx_stash);
  std::vector<float> live = stash;  // an optimizer step changed the weights after the forward
  for (float& w : live) w *= 1.1f;
  block.backward_input(live.data(), &saved, dy.data(), &dx_live);
  block.backward_input(stash.data(), &saved, dy.data(), &dx_again);
  EXPECT_NE(dx_stash, dx_live);   // PACI: saved activations with the live weights
  EXPECT_EQ(dx_stash, dx_again);  // PipeDream: the stash reproduces the consistent gradient
}

}  // namespace
}  // namespace paci::exec
