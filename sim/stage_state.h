// The small containers the engine keeps per stage (internal to sim/): a FIFO ring of in-flight
// forwards with the weight version each used, and a mailbox of messages that were sent to the
// stage but not yet received. Both reuse their storage, so the steady state allocates nothing;
// their size is bounded by the in-flight window, not by the length of the run.
#pragma once

#include <cstdint>
#include <vector>

namespace paci::sim {

struct InFlight {
  uint64_t micro_batch = 0;
  int64_t version = 0;  // weight version the forward used
};

// FIFO of forwards whose backward has not run yet (one ring per chunk).
class InFlightRing {
 public:
  bool Empty() const { return size_ == 0; }
  uint32_t Size() const { return size_; }
  const InFlight& Front() const { return buf_[head_]; }
  const InFlight& Back() const { return buf_[(head_ + size_ - 1) & mask_]; }

  void Push(const InFlight& f) {
    if (size_ == buf_.size()) Grow();
    buf_[(head_ + size_) & mask_] = f;
    ++size_;
  }
  void Pop() {
    head_ = (head_ + 1) & mask_;
    --size_;
  }

 private:
  void Grow() {
    std::vector<InFlight> bigger(buf_.empty() ? 8 : buf_.size() * 2);
    for (uint32_t i = 0; i < size_; ++i) bigger[i] = buf_[(head_ + i) & mask_];
    buf_.swap(bigger);
    head_ = 0;
    mask_ = static_cast<uint32_t>(buf_.size() - 1);
  }
  std::vector<InFlight> buf_;
  uint32_t head_ = 0, size_ = 0, mask_ = 0;
};

struct Message {
  uint64_t micro_batch = 0;
  uint32_t to_virtual = 0;  // virtual stage the message is for (VirtualStageOf, sched/op_messages.h)
  int64_t sent_ns = 0;      // when the sender's send lane started it
  int64_t arrival_ns = 0;
};

// Messages of one kind (activations or gradients) waiting at one stage. Schedules receive in
// the order senders send, so the match is almost always the oldest entry; Take scans otherwise.
class Mailbox {
 public:
  void Post(const Message& m) { items_.push_back(m); }

  // Finds the message for (micro_batch, to_virtual); nullptr when it has not been sent yet.
  const Message* Find(uint64_t micro_batch, uint32_t to_virtual) const {
    for (size_t i = head_; i < items_.size(); ++i)
      if (items_[i].micro_batch == micro_batch && items_[i].to_virtual == to_virtual) return &items_[i];
    return nullptr;
  }

  // Removes a message returned by Find.
  void Remove(const Message* m) {
    const size_t i = static_cast<size_t>(m - items_.data());
    if (i == head_) {
      ++head_;
    } else {
      items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(i));
    }
    if (head_ == items_.size()) {
      items_.clear();  // keeps capacity
      head_ = 0;
    } else if (head_ >= 64 && 2 * head_ >= items_.size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }

  size_t Pending() const { return items_.size() - head_; }

 private:
  std::vector<Message> items_;
  size_t head_ = 0;
};

}  // namespace paci::sim
