// SlotTable: reusable objects (a micro-batch's record, a message buffer) filed under a key such as
// a MicroBatchSlot. Entries are made once (Reserve, from the stage's memory plan) and never
// destroyed: Close keeps an entry's object and the capacity of its buffers for the next Open, so
// a steady state of Open/Close allocates nothing. Lookups are linear: a stage holds a handful.
// Open hands out the first idle entry; a benchmark's control can ask for the least recently
// closed instead, so every entry is used in rotation (bench/schedule_forward_bench.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace paci::exec {

template <class Key, class T>
class SlotTable {
 public:
  // `n` more idle entries, each passed to `init` (which reserves its buffers).
  template <class Init>
  void Reserve(size_t n, Init init) {
    entries_.reserve(entries_.size() + n);
    for (size_t i = 0; i < n; ++i) {
      entries_.emplace_back();
      init(entries_.back().value);
    }
  }

  // An idle entry filed under `key` (whatever it held before, keep capacity). When every entry is
  // in use the plan was short: a new one is made (an allocation) and counted in grown().
  T& Open(const Key& key) {
    Entry* idle = nullptr;
    for (Entry& e : entries_) {
      if (e.used) continue;
      if (!least_recent_first_) return Use(e, key);
      if (idle == nullptr || e.closed_at < idle->closed_at) idle = &e;
    }
    if (idle != nullptr) return Use(*idle, key);
    ++grown_;
    entries_.emplace_back();
    return Use(entries_.back(), key);
  }

  T* Find(const Key& key) {
    for (Entry& e : entries_)
      if (e.used && e.key == key) return &e.value;
    return nullptr;
  }
  const T* Find(const Key& key) const { return const_cast<SlotTable*>(this)->Find(key); }

  // Makes the entry under `key` idle after `reset` (which empties it, keeping its buffers).
  template <class Reset>
  bool Close(const Key& key, Reset reset) {
    for (Entry& e : entries_) {
      if (e.used && e.key == key) {
        reset(e.value);
        e.used = false;
        e.closed_at = ++closes_;
        return true;
      }
    }
    return false;
  }

  // Calls f(value) for every entry in use.
  template <class F>
  void ForEachUsed(F f) const {
    for (const Entry& e : entries_)
      if (e.used) f(e.value);
  }

  size_t size() const { return entries_.size(); }
  size_t grown() const { return grown_; }  // entries made past the reservation
  void set_least_recent_first(bool on) { least_recent_first_ = on; }

 private:
  struct Entry {
    Key key{};
    T value{};
    bool used = false;
    uint64_t closed_at = 0;  // when it last became idle, in Close calls
  };
  static T& Use(Entry& e, const Key& key) {
    e.key = key;
    e.used = true;
    return e.value;
  }

  std::vector<Entry> entries_;
  size_t grown_ = 0;
  uint64_t closes_ = 0;
  bool least_recent_first_ = false;
};

}  // namespace paci::exec
