// DeviceMemoryTracker: the device memory one pipeline stage holds, counted at every allocation and
// free its code makes (DeviceBuffer, the cuBLAS workspace), with the high-water mark. Per stage,
// not per device: in one-GPU mode every stage shares the GPU, so cudaMemGetInfo cannot tell them
// apart, and the peak is exact (updated at each allocation, temporaries grown inside an op
// included) rather than sampled between ops. A backend makes its allocations inside a
// DeviceMemoryScope; each buffer remembers the tracker that paid for it. Plain C++ (no CUDA), so
// its logic is tested without a GPU (tests/cuda/device_memory_test.cc).
#pragma once

#include <atomic>
#include <cstdint>

namespace paci::exec {

class DeviceMemoryTracker {
 public:
  void Allocated(uint64_t bytes) {
    const uint64_t now = live_.fetch_add(bytes) + bytes;
    uint64_t peak = peak_.load();
    while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
    }
  }
  void Freed(uint64_t bytes) { live_.fetch_sub(bytes); }
  uint64_t live() const { return live_.load(); }
  uint64_t peak() const { return peak_.load(); }

 private:
  std::atomic<uint64_t> live_{0}, peak_{0};
};

// While one is alive on a thread, the device allocations that thread makes are counted by its
// tracker (null: not counted). Scopes nest; the innermost wins.
class DeviceMemoryScope {
 public:
  explicit DeviceMemoryScope(DeviceMemoryTracker* tracker) : previous_(current_) { current_ = tracker; }
  ~DeviceMemoryScope() { current_ = previous_; }
  DeviceMemoryScope(const DeviceMemoryScope&) = delete;
  DeviceMemoryScope& operator=(const DeviceMemoryScope&) = delete;
  static DeviceMemoryTracker* Current() { return current_; }

 private:
  DeviceMemoryTracker* previous_;
  static inline thread_local DeviceMemoryTracker* current_ = nullptr;
};

}  // namespace paci::exec
