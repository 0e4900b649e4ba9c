// ChunkRecordPool (exec/cuda/record_pool.h): with interleaved chunks a record is only reused by
// the chunk that sized it. Host-only logic: runs without a GPU. The fake record grows like a
// DeviceBuffer (never shrinks) and counts the buffers a resize of its layer list would free.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <vector>

#include "exec/cuda/record_pool.h"

namespace paci::exec {
namespace {

struct FakeSaved {
  std::vector<size_t> layer_bytes;  // one "DeviceBuffer" per layer
  size_t frees = 0;                 // buffers freed by shrinking the layer list
  size_t bytes() const {
    size_t b = 0;
    for (size_t x : layer_bytes) b += x;
    return b;
  }
};

// What StageModelCuda::forward does to a record: one buffer per layer, grown to the layer's need.
void FakeForward(FakeSaved* r, const std::vector<size_t>& need) {
  if (r->layer_bytes.size() > need.size()) r->frees += r->layer_bytes.size() - need.size();
  r->layer_bytes.resize(need.size());
  for (size_t i = 0; i < need.size(); ++i) r->layer_bytes[i] = std::max(r->layer_bytes[i], need[i]);
}

// Two chunks as interleaved 1F1B gives a stage: chunk 0 three blocks, chunk 1 a block and the head
// (whose (N,V) logits dwarf a block's activations). In the steady state a backward of one chunk
// precedes a forward of the other: B(c1, k-1) F(c0, k) B(c0, k-2) F(c1, k). `pool_key` maps a chunk
// to its free list.
struct Played {
  size_t max_record_bytes[2] = {0, 0};
  size_t frees = 0;
};
Played Play(ChunkRecordPool<FakeSaved>& pool, uint32_t (*pool_key)(uint32_t)) {
  const std::vector<size_t> need[2] = {{10, 10, 10}, {10, 1000}};
  std::map<std::pair<int, uint32_t>, std::unique_ptr<FakeSaved>> live;  // (micro-batch, chunk)
  Played p;
  auto forward = [&](int mb, uint32_t c) {
    std::unique_ptr<FakeSaved> r = pool.Take(pool_key(c));
    FakeForward(r.get(), need[c]);
    p.max_record_bytes[c] = std::max(p.max_record_bytes[c], r->bytes());
    live[{mb, c}] = std::move(r);
  };
  auto backward = [&](int mb, uint32_t c) {
    auto it = live.find({mb, c});
    pool.Give(pool_key(c), std::move(it->second));
    live.erase(it);
  };
  for (int mb = 0; mb < 40; ++mb) {
    if (mb >= 1) backward(mb - 1, 1);
    forward(mb, 0);
    if (mb >= 2) backward(mb - 2, 0);
    forward(mb, 1);
  }
  for (auto& [k, r] : live) p.frees += r->frees;
  for (uint32_t c = 0; c < 2; ++c)
    while (pool.spare(pool_key(c)) > 0) p.frees += pool.Take(pool_key(c))->frees;
  return p;
}

TEST(ChunkRecordPool, ARecordOnlyServesItsChunk) {
  ChunkRecordPool<FakeSaved> pool(2);
  const Played p = Play(pool, [](uint32_t c) { return c; });
  EXPECT_EQ(p.max_record_bytes[0], 30u);    // chunk 0's records never carry the head's logits
  EXPECT_EQ(p.max_record_bytes[1], 1010u);
  EXPECT_EQ(p.frees, 0u);                   // no layer list ever shrank (no cudaFree mid-run)
}

// The old behaviour, one free list for all chunks: chunk 0 picks up chunk 1's records, which
// carry the head's buffer from then on, and the layer lists shrink and grow.
TEST(ChunkRecordPool, OneSharedListMixesChunks) {
  ChunkRecordPool<FakeSaved> pool(1);
  const Played p = Play(pool, [](uint32_t) { return 0u; });
  EXPECT_GT(p.max_record_bytes[0], 30u);
  EXPECT_GT(p.frees, 0u);
}

TEST(ChunkRecordPool, NewRecordWhenTheChunkHasNoSpare) {
  ChunkRecordPool<FakeSaved> pool(2);
  std::unique_ptr<FakeSaved> a = pool.Take(0);
  FakeForward(a.get(), {5});
  FakeSaved* raw = a.get();
  pool.Give(0, std::move(a));
  EXPECT_EQ(pool.spare(0), 1u);
  EXPECT_EQ(pool.spare(1), 0u);
  std::unique_ptr<FakeSaved> b = pool.Take(1);
  EXPECT_NE(b.get(), raw);
  EXPECT_TRUE(b->layer_bytes.empty());
  EXPECT_EQ(pool.Take(0).get(), raw);
}

}  // namespace
}  // namespace paci::exec
