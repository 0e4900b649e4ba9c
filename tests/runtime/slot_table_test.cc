// SlotTable (exec/runtime/slot_table.h): entries made once and reused; the first idle entry by
// default, the least recently closed one under a benchmark's rotation.
#include "exec/runtime/slot_table.h"

#include <gtest/gtest.h>

#include <vector>

namespace paci::exec {
namespace {

// Which of three reserved entries each Open hands out, identified by the value `init` gave it.
std::vector<int> EntriesHandedOut(bool least_recent_first) {
  SlotTable<int, int> table;
  int next = 0;
  table.Reserve(3, [&](int& v) { v = next++; });
  table.set_least_recent_first(least_recent_first);
  std::vector<int> out;
  const auto noop = [](int&) {};
  // Open 0 and 1, then close and reopen one at a time: the pattern of a stage with two records.
  out.push_back(table.Open(10));
  out.push_back(table.Open(11));
  for (int key = 12; key < 16; ++key) {
    EXPECT_TRUE(table.Close(key - 2, noop));
    out.push_back(table.Open(key));
  }
  EXPECT_EQ(table.grown(), 0u);
  return out;
}

TEST(SlotTable, FirstIdleEntryByDefault) {
  // Entry 2 is never needed: the entry just closed is the first idle one again.
  EXPECT_EQ(EntriesHandedOut(false), (std::vector<int>{0, 1, 0, 1, 0, 1}));
}

TEST(SlotTable, LeastRecentlyClosedEntryInRotation) {
  // Every entry in turn: 2 has never been closed, then 0 (closed before 1), then 1.
  EXPECT_EQ(EntriesHandedOut(true), (std::vector<int>{0, 1, 2, 0, 1, 2}));
}

TEST(SlotTable, GrowsPastTheReservationAndCountsIt) {
  SlotTable<int, int> table;
  table.Reserve(1, [](int& v) { v = 7; });
  EXPECT_EQ(table.Open(1), 7);
  table.Open(2);
  EXPECT_EQ(table.grown(), 1u);
  EXPECT_EQ(table.size(), 2u);
}

}  // namespace
}  // namespace paci::exec
