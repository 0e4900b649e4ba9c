// The shared layer partitioner (sched/layer_partition.h) pinned on known cost vectors: the splits
// below are what both the simulator's and the executor's partitioners gave before they became this
// one, so a change to the search (or its tie-breaking) shows here first.
#include "sched/layer_partition.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace paci {
namespace {

std::vector<LayerLoad> Loads(const std::vector<double>& compute, double static_bytes = 0, double act = 0) {
  std::vector<LayerLoad> out;
  for (double c : compute) out.push_back({c, static_bytes, act});
  return out;
}

// The split as (first, last) pairs, or {} when it was refused.
std::vector<std::pair<int, int>> Split(const std::vector<LayerLoad>& layers, uint32_t parts,
                                       const std::vector<uint32_t>& inflight = {}, double cap = 0) {
  const Result<std::vector<LayerSlice>> r = PartitionLayers(layers, parts, inflight, cap);
  std::vector<std::pair<int, int>> out;
  if (!r.ok()) return out;
  for (const LayerSlice& s : *r) out.emplace_back(s.first, s.last);
  return out;
}

using Pairs = std::vector<std::pair<int, int>>;

TEST(LayerPartition, MinimisesTheSlowestSlice) {
  EXPECT_EQ(Split(Loads({1, 1, 1, 1, 4, 1}), 2), (Pairs{{0, 4}, {4, 6}}));
  EXPECT_EQ(Split(Loads({3, 1, 4, 1, 5, 9, 2, 6}), 1), (Pairs{{0, 8}}));
  EXPECT_EQ(Split(Loads({3, 1, 4, 1, 5, 9, 2, 6}), 3), (Pairs{{0, 4}, {4, 6}, {6, 8}}));
  EXPECT_EQ(Split(Loads({3, 1, 4, 1, 5, 9, 2, 6}), 4), (Pairs{{0, 3}, {3, 5}, {5, 6}, {6, 8}}));
  EXPECT_EQ(Split(Loads({3, 1, 4, 1, 5, 9, 2, 6}), 8).size(), 8u);
}

TEST(LayerPartition, TiesAreBrokenTheSameWayEveryTime) {
  EXPECT_EQ(Split(Loads({2, 2, 2, 2, 2, 2}), 3), (Pairs{{0, 2}, {2, 4}, {4, 6}}));
  EXPECT_EQ(Split(Loads({2, 2, 2, 2, 2, 2}), 4), (Pairs{{0, 1}, {1, 2}, {2, 4}, {4, 6}}));
}

TEST(LayerPartition, MemoryCapBindsPerSlice) {
  // 10 static bytes a layer, 10 per micro-batch in flight; slice 0 holds 2 micro-batches.
  EXPECT_EQ(Split(Loads({1, 1, 1, 1, 2}, 10, 10), 2, {2, 1}, 0), (Pairs{{0, 3}, {3, 5}}));
  EXPECT_EQ(Split(Loads({1, 1, 1, 1, 2}, 10, 10), 2, {2, 1}, 65), (Pairs{{0, 2}, {2, 5}}));
  // 10 static + 5 per micro-batch, 3/2/1 in flight: a cap of 45 allows 1, 2 and 3 layers.
  EXPECT_EQ(Split(Loads({1, 1, 1, 1, 1, 1}, 10, 5), 3, {3, 2, 1}, 45), (Pairs{{0, 1}, {1, 3}, {3, 6}}));
  EXPECT_EQ(Split(Loads({1, 1, 1, 1, 1, 1}, 10, 5), 3, {3, 2, 1}, 50), (Pairs{{0, 2}, {2, 4}, {4, 6}}));
  // Slices past the end of `inflight` hold one micro-batch.
  EXPECT_EQ(Split(Loads({1, 1, 1, 1, 1, 1}, 10, 5), 3, {3}, 45), (Pairs{{0, 1}, {1, 3}, {3, 6}}));
}

TEST(LayerPartition, RefusalsNameTheReason) {
  const Result<std::vector<LayerSlice>> none =
      PartitionLayers(Loads({1, 1, 1, 1, 1, 1}, 10, 5), 3, {3, 2, 1}, 40);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("memory cap"), std::string::npos);
  const Result<std::vector<LayerSlice>> few = PartitionLayers(Loads({1, 1}), 3, {}, 0);
  ASSERT_FALSE(few.ok());
  EXPECT_NE(few.status().message().find("at least that many layers"), std::string::npos);
  EXPECT_FALSE(PartitionLayers(Loads({1, 1}), 0, {}, 0).ok());
  // The step cap is checked before the tables are allocated (issue 25).
  const Result<std::vector<LayerSlice>> big = PartitionLayers(std::vector<LayerLoad>(1u << 20), 2, {}, 0);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.status().message().find("kMaxPartitionSteps (sched/layer_partition.h)"), std::string::npos);
}

}  // namespace
}  // namespace paci
