// ChunkRecordPool: spare saved-activation records, one free list per chunk of a stage.
// A record's buffers are sized by the chunk that filled it (DeviceBuffer grows and never shrinks)
// and its layer list has that chunk's length. With interleaved chunks a single free list handed
// one chunk's record to another: the forward resized its layer list (freeing buffers - cudaFree -
// in the middle of the run) and grew the rest, so over time every record carried the largest
// chunk's buffers (the head's (N,V) logits included) and a stage held several times the
// activations the simulator predicts. Keyed by chunk, a record only ever serves the slice it was
// sized for. Plain C++ (no CUDA), so the reuse rule is tested without a GPU
// (tests/cuda/record_pool_test.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "proto/status.h"

namespace paci::exec {

template <typename Record>
class ChunkRecordPool {
 public:
  explicit ChunkRecordPool(size_t chunks = 0) : spare_(chunks) {}
  void Resize(size_t chunks) { spare_.resize(chunks); }
  // A spare record last used by `chunk`, or a new (empty) one.
  std::unique_ptr<Record> Take(uint32_t chunk) {
    PACI_CHECK(chunk < spare_.size());
    std::vector<std::unique_ptr<Record>>& list = spare_[chunk];
    if (list.empty()) return std::make_unique<Record>();
    std::unique_ptr<Record> r = std::move(list.back());
    list.pop_back();
    return r;
  }
  // Back to `chunk`'s list (callers reuse it on the same stream, so the reuse is ordered).
  void Give(uint32_t chunk, std::unique_ptr<Record> r) {
    PACI_CHECK(chunk < spare_.size());
    spare_[chunk].push_back(std::move(r));
  }
  size_t spare(uint32_t chunk) const { return spare_.at(chunk).size(); }

 private:
  std::vector<std::vector<std::unique_ptr<Record>>> spare_;
};

}  // namespace paci::exec
