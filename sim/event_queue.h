// EventQueue: the simulator's pending events, a binary heap of 16-byte plain structs ordered by
// (time, sequence number). The sequence number is assigned at insertion, so events at the same
// time leave in the order they were scheduled and every run is reproducible (ns-3's EventKey).
// Insert and PopTop are O(log n); ReplaceTop (the engine's common case: the stage that just ran
// schedules its own next event) is a single sift-down. No allocation once the heap has reached
// its peak size; the engine keeps at most one event per stage pending, so n <= P.
#pragma once

#include <cstdint>
#include <vector>

namespace paci::sim {

struct Event {
  int64_t time_ns = 0;
  uint64_t key = 0;  // seq << kStageBits | stage: unique, so it orders ties by seq alone

  static constexpr int kStageBits = 20;
  uint32_t stage() const { return static_cast<uint32_t>(key & ((1u << kStageBits) - 1)); }
  bool Before(const Event& o) const {
    return time_ns != o.time_ns ? time_ns < o.time_ns : key < o.key;
  }
};

class EventQueue {
 public:
  void Reserve(size_t n) { heap_.reserve(n); }
  bool Empty() const { return heap_.empty(); }
  size_t Size() const { return heap_.size(); }
  // Precondition: !Empty().
  const Event& Top() const { return heap_[0]; }

  // Precondition: stage < 2^20.
  void Insert(int64_t time_ns, uint32_t stage) {
    heap_.push_back(Make(time_ns, stage));
    SiftUp(heap_.size() - 1);
  }

  // Same as PopTop() then Insert(time_ns, stage), in one sift-down.
  void ReplaceTop(int64_t time_ns, uint32_t stage) { SiftDown(Make(time_ns, stage)); }

  void PopTop() {
    const Event last = heap_.back();
    heap_.pop_back();
    if (!heap_.empty()) SiftDown(last);
  }

  uint64_t inserted() const { return next_seq_; }

 private:
  Event Make(int64_t time_ns, uint32_t stage) {
    return Event{time_ns, (next_seq_++ << Event::kStageBits) | stage};
  }

  void SiftUp(size_t i) {
    const Event e = heap_[i];  // (not just written by a narrower store: Insert writes it whole)
    while (i > 0) {
      const size_t parent = (i - 1) / 2;
      if (!e.Before(heap_[parent])) break;
      heap_[i] = heap_[parent];
      i = parent;
    }
    heap_[i] = e;
  }

  // Moves the hole at the root down to where `e` belongs. `e` comes in a register, not from
  // heap_[0]: writing it there first and reading it back stalls on store forwarding.
  void SiftDown(const Event e) {
    const size_t n = heap_.size();
    size_t i = 0;
    for (;;) {
      size_t child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && heap_[child + 1].Before(heap_[child])) ++child;
      if (!heap_[child].Before(e)) break;
      heap_[i] = heap_[child];
      i = child;
    }
    heap_[i] = e;
  }

  std::vector<Event> heap_;
  uint64_t next_seq_ = 0;
};

}  // namespace paci::sim
