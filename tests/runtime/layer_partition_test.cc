// The executor's layer split (exec/runtime/layer_partition.h) pinned for a few GPT shapes: these
// are the splits `paci train` made before its partitioner became sched's shared one, so trained
// runs, checkpoints and `paci predict --profile` keep the stage boundaries they had.
#include "exec/runtime/layer_partition.h"

#include <gtest/gtest.h>

#include <vector>

namespace paci::exec {
namespace {

GPTConfig Gpt(int layers, int dim, int seq, int vocab) {
  GPTConfig c;
  c.n_layer = layers;
  c.n_embd = dim;
  c.block_size = seq;
  c.vocab_size = vocab;
  return c;
}

// The first layer of every slice after the first (the --partition form), or {-1} when refused.
std::vector<int> Cuts(const GPTConfig& cfg, int parts) {
  const Result<std::vector<LayerRange>> r = partition_balanced(cfg, parts);
  if (!r.ok()) return {-1};
  std::vector<int> out;
  for (size_t i = 1; i < r->size(); ++i) out.push_back((*r)[i].first);
  return out;
}

TEST(ExecLayerPartition, BalancedSplitsArePinned) {
  const GPTConfig tiny = Gpt(2, 64, 32, 256);
  EXPECT_EQ(Cuts(tiny, 1), (std::vector<int>{}));
  EXPECT_EQ(Cuts(tiny, 2), (std::vector<int>{2}));
  EXPECT_EQ(Cuts(tiny, 3), (std::vector<int>{2, 3}));
  EXPECT_EQ(Cuts(tiny, 4), (std::vector<int>{1, 2, 3}));
  const GPTConfig six = Gpt(6, 64, 32, 256);
  EXPECT_EQ(Cuts(six, 2), (std::vector<int>{4}));
  EXPECT_EQ(Cuts(six, 3), (std::vector<int>{3, 5}));
  EXPECT_EQ(Cuts(six, 5), (std::vector<int>{2, 3, 4, 6}));
  EXPECT_EQ(Cuts(six, 8), (std::vector<int>{1, 2, 3, 4, 5, 6, 7}));
  const GPTConfig gpt2 = Gpt(12, 768, 1024, 50257);  // the head outweighs two blocks
  EXPECT_EQ(Cuts(gpt2, 2), (std::vector<int>{9}));
  EXPECT_EQ(Cuts(gpt2, 4), (std::vector<int>{5, 9, 13}));
  EXPECT_EQ(Cuts(gpt2, 8), (std::vector<int>{2, 3, 5, 7, 9, 11, 13}));
  const GPTConfig four = Gpt(4, 64, 64, 256);
  EXPECT_EQ(Cuts(four, 2), (std::vector<int>{3}));
  EXPECT_EQ(Cuts(four, 4), (std::vector<int>{2, 3, 4}));
}

TEST(ExecLayerPartition, TooManySlicesNameTheFlag) {
  const Result<std::vector<LayerRange>> r = partition_balanced(Gpt(2, 64, 32, 256), 5);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("--stages"), std::string::npos);
  EXPECT_NE(r.status().message().find("raise --layers"), std::string::npos);
}

TEST(ExecLayerPartition, ExplicitCutsAreChecked) {
  const Result<std::vector<LayerRange>> r = partition_from_cuts(Gpt(6, 64, 32, 256), 3, "2,5");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)[1].first, 2);
  EXPECT_EQ((*r)[2].last, 8);
  EXPECT_FALSE(partition_from_cuts(Gpt(6, 64, 32, 256), 3, "5,2").ok());
  EXPECT_FALSE(partition_from_cuts(Gpt(6, 64, 32, 256), 3, "2").ok());
}

}  // namespace
}  // namespace paci::exec
