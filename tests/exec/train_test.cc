// Training as a user checks it: the loss goes down on a learnable corpus; 20 updates, save,
// resume, 20 more gives bit-identical losses and weights to 40 straight; checkpoints carry
// nanoGPT names and refuse a mismatched model.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "exec/model/checkpoint.h"
#include "exec/model/safetensors.h"
#include "exec/model/threads.h"
#include "exec/model/train.h"
#include "tests/exec/test_util.h"

namespace paci::exec {
namespace {

std::string tmp_path(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("paci_exec_train_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

TrainConfig small_config() {
  // One thread: these models are tiny and the test machine is shared; determinism for a fixed
  // thread count is what resume needs.
  exec_set_threads(1);
  TrainConfig c;
  c.model.vocab_size = 256;
  c.model.block_size = 16;
  c.model.n_layer = 2;
  c.model.n_head = 2;
  c.model.n_embd = 32;
  c.B = 4;
  c.accum = 2;
  c.updates = 40;
  c.lr = 3e-3f;
  c.warmup = 5;
  c.seed = 42;
  c.eval_batches = 4;
  return c;
}

DataSplit corpus() {
  const std::string text = testing::make_corpus(20000, 7);
  return split_tokens(std::vector<uint16_t>(text.begin(), text.end()));
}

TEST(Train, LossDecreasesOnALearnableCorpus) {
  TrainConfig c = small_config();
  c.updates = 60;
  Trainer tr = trainer_create(c, corpus()).value();
  const float before = trainer_eval(&tr);
  for (int i = 0; i < c.updates; i++) trainer_step(&tr);
  const float after = trainer_eval(&tr);
  std::printf("  val loss %.4f -> %.4f after %d updates\n", before, after, static_cast<int>(c.updates));
  EXPECT_NEAR(before, std::log(256.0f), 0.1f);  // the init predicts nearly uniform
  EXPECT_LT(after, 3.0f);                        // 19 words: far below uniform over bytes
}

TEST(Train, ResumeIsBitIdenticalToStraightTraining) {
  const TrainConfig c = small_config();  // the schedule spans 40 updates in both runs
  Trainer straight = trainer_create(c, corpus()).value();
  std::vector<float> losses_straight;
  for (int i = 0; i < 40; i++) losses_straight.push_back(trainer_step(&straight).loss);

  const std::string path = tmp_path("resume.safetensors");
  std::vector<float> losses_resumed;
  {
    Trainer first = trainer_create(c, corpus()).value();
    for (int i = 0; i < 20; i++) losses_resumed.push_back(trainer_step(&first).loss);
    ASSERT_TRUE(checkpoint_save(path, first).ok());
  }
  TrainConfig c2 = c;
  c2.seed = 999;  // weights and sampler must come from the checkpoint, not from the seed
  Trainer second = trainer_create(c2, corpus()).value();
  const Status st = checkpoint_load(path, &second);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(second.opt.step, 20);
  for (int i = 0; i < 20; i++) losses_resumed.push_back(trainer_step(&second).loss);

  EXPECT_EQ(losses_straight, losses_resumed);
  EXPECT_EQ(straight.params, second.params);
  EXPECT_EQ(straight.opt.m, second.opt.m);
  EXPECT_EQ(straight.opt.v, second.opt.v);
  EXPECT_LT(losses_straight.back(), losses_straight.front());
}

TEST(Train, CheckpointUsesNanoGptNamesAndLayouts) {
  TrainConfig c = small_config();
  c.model.tie = true;
  Trainer tr = trainer_create(c, corpus()).value();
  const std::string path = tmp_path("names.safetensors");
  ASSERT_TRUE(checkpoint_save(path, tr).ok());
  SafeTensorsFile f = safetensors_read(path).value();
  const int C = 32;
  EXPECT_EQ(f.tensors.at("transformer.wte.weight").shape, (std::vector<int64_t>{256, C}));
  EXPECT_EQ(f.tensors.at("transformer.h.1.attn.c_attn.weight").shape, (std::vector<int64_t>{3 * C, C}));
  EXPECT_EQ(f.tensors.at("transformer.h.0.mlp.c_proj.weight").shape, (std::vector<int64_t>{C, 4 * C}));
  EXPECT_EQ(f.tensors.at("transformer.ln_f.bias").shape, (std::vector<int64_t>{C}));
  // Tied: lm_head.weight is written too, equal to wte, so nanoGPT's load_state_dict accepts it.
  std::vector<float> wte(256 * C), head(256 * C);
  ASSERT_TRUE(safetensors_get_f32(f, "transformer.wte.weight", {256, C}, wte.data()).ok());
  ASSERT_TRUE(safetensors_get_f32(f, "lm_head.weight", {256, C}, head.data()).ok());
  EXPECT_EQ(wte, head);
  EXPECT_TRUE(std::filesystem::exists(tmp_path("names.optim.safetensors")));

  TrainConfig other = small_config();
  other.model.n_embd = 64;
  Trainer wrong = trainer_create(other, corpus()).value();
  const Status st = checkpoint_load(path, &wrong);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("--dim"), std::string::npos) << st.message();
}

TEST(Train, AccumulationDividesTheLossAndIsDeterministic) {
  TrainConfig c = small_config();
  Trainer a = trainer_create(c, corpus()).value(), b = trainer_create(c, corpus()).value();
  for (int i = 0; i < 3; i++) EXPECT_EQ(trainer_step(&a).loss, trainer_step(&b).loss);
  EXPECT_EQ(a.params, b.params);
  // With accum = 2 the gradient is the mean over the two micro-batches: its norm stays of the
  // order of a single micro-batch's (a sum would double it for identical micro-batches).
  c.accum = 1;
  Trainer one = trainer_create(c, corpus()).value();
  const float n1 = trainer_step(&one).grad_norm;
  c.accum = 2;
  c.sampler = SamplerKind::kSequential;
  Trainer two = trainer_create(c, corpus()).value();
  const float n2 = trainer_step(&two).grad_norm;
  EXPECT_LT(n2, 1.5f * n1);
}

}  // namespace
}  // namespace paci::exec
