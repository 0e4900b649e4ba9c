// DeviceMemoryTracker (exec/cuda/device_memory.h): live bytes and the high-water mark, scopes,
// and concurrent stages. Host-only logic: runs without a GPU.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "exec/cuda/device_memory.h"

namespace paci::exec {
namespace {

TEST(DeviceMemoryTracker, PeakIsTheHighestLiveTotal) {
  DeviceMemoryTracker t;
  t.Allocated(100);
  t.Allocated(50);   // live 150
  t.Freed(100);      // live 50
  t.Allocated(80);   // live 130 < 150
  EXPECT_EQ(t.live(), 130u);
  EXPECT_EQ(t.peak(), 150u);
  t.Allocated(40);   // live 170
  EXPECT_EQ(t.peak(), 170u);
  t.Freed(170);
  EXPECT_EQ(t.live(), 0u);
  EXPECT_EQ(t.peak(), 170u);
}

TEST(DeviceMemoryScope, InnermostScopeCountsAndNestingRestores) {
  DeviceMemoryTracker a, b;
  EXPECT_EQ(DeviceMemoryScope::Current(), nullptr);
  {
    DeviceMemoryScope sa(&a);
    EXPECT_EQ(DeviceMemoryScope::Current(), &a);
    {
      DeviceMemoryScope sb(&b);
      EXPECT_EQ(DeviceMemoryScope::Current(), &b);
    }
    EXPECT_EQ(DeviceMemoryScope::Current(), &a);
  }
  EXPECT_EQ(DeviceMemoryScope::Current(), nullptr);
}

TEST(DeviceMemoryScope, EachThreadHasItsOwn) {
  DeviceMemoryTracker a;
  DeviceMemoryScope sa(&a);
  DeviceMemoryTracker* seen = &a;
  std::thread([&] { seen = DeviceMemoryScope::Current(); }).join();
  EXPECT_EQ(seen, nullptr);  // a stage thread's scope never leaks into another stage's
}

TEST(DeviceMemoryTracker, ConcurrentStagesNeverLoseBytes) {
  // Allocation and free from several threads into one tracker: every byte is accounted for, and
  // the peak is at least one thread's largest live total and at most all of them at once.
  DeviceMemoryTracker t;
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      for (int k = 0; k < 10000; ++k) {
        t.Allocated(64);
        t.Allocated(32);
        t.Freed(96);
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(t.live(), 0u);
  EXPECT_GE(t.peak(), 96u);
  EXPECT_LE(t.peak(), 4u * 96u);
}

}  // namespace
}  // namespace paci::exec
