#include "exec/runtime/thread_transport.h"

#include <fmt/format.h>

namespace paci::exec {

std::string DescribeMessage(const MessageKey& key, uint32_t stages) {
  const StageChunk from = StageChunkOf(key.from_virtual, stages);
  return fmt::format("{} of micro-batch {} from stage {}{}", key.is_grad ? "gradient" : "activation",
                     key.micro_batch, from.stage,
                     from.chunk > 0 ? fmt::format(" chunk {}", from.chunk) : std::string());
}

class ThreadTransport : public Transport {
 public:
  ThreadTransport(ThreadTransportHub* hub, uint32_t stage) : hub_(hub), stage_(stage) {}
  uint32_t stage() const override { return stage_; }
  uint32_t stages() const override { return hub_->stages(); }
  Status Send(uint32_t to, const MessageKey& key, std::span<const float> data) override {
    if (to >= hub_->stages()) return Status::InvalidArgument(fmt::format("send to stage {}", to));
    hub_->Deliver(stage_, to, key, data);
    return Status::Ok();
  }
  Status Recv(uint32_t from, const MessageKey& key, std::vector<float>* out,
              std::chrono::milliseconds timeout) override {
    return hub_->Take(from, stage_, key, out, timeout);
  }
  void Abort(const std::string& reason) override { hub_->Abort(reason); }

 private:
  ThreadTransportHub* hub_;
  uint32_t stage_;
};

ThreadTransportHub::ThreadTransportHub(uint32_t stages) {
  for (uint32_t s = 0; s < stages; ++s) boxes_.push_back(std::make_unique<Mailbox>());
}

std::unique_ptr<Transport> ThreadTransportHub::Endpoint(uint32_t stage) {
  return std::make_unique<ThreadTransport>(this, stage);
}

void ThreadTransportHub::Reserve(uint32_t stage, uint32_t messages, size_t floats) {
  Mailbox& box = *boxes_[stage];
  std::lock_guard<std::mutex> lock(box.mu);
  box.messages.reserve(box.messages.size() + messages);
  for (uint32_t i = 0; i < messages; ++i) {
    Message& m = box.messages.emplace_back();
    m.data.assign(floats, 0.0f);  // touches every page now
    m.data.clear();
  }
}

void ThreadTransportHub::Deliver(uint32_t from, uint32_t to, const MessageKey& key,
                                 std::span<const float> data) {
  Mailbox& box = *boxes_[to];
  {
    std::lock_guard<std::mutex> lock(box.mu);
    const Key k{from, key};
    // The same message sent twice replaces the first (as a map would); else an idle entry.
    Message* m = nullptr;
    for (Message& e : box.messages)
      if (e.full && e.key == k) m = &e;
    for (size_t i = 0; m == nullptr && i < box.messages.size(); ++i)
      if (!box.messages[i].full) m = &box.messages[i];
    if (m == nullptr) m = &box.messages.emplace_back();
    m->key = k;
    m->full = true;
    m->data.assign(data.begin(), data.end());  // into the idle buffer's capacity
  }
  box.cv.notify_all();
}

Status ThreadTransportHub::Take(uint32_t from, uint32_t to, const MessageKey& key, std::vector<float>* out,
                                std::chrono::milliseconds timeout) {
  Mailbox& box = *boxes_[to];
  const Key k{from, key};
  std::unique_lock<std::mutex> lock(box.mu);
  // The wait is counted in short slices, each at most twice what it asked for: a slice that took
  // far longer means the whole process was stopped (SIGSTOP, a suspended laptop, a VM migration),
  // and a paused process is not a dead peer (issue 25: a run paused longer than the timeout died
  // "dead or stuck" on SIGCONT). In one process a failing stage aborts the others, so the timeout
  // is left guarding against a stuck one (a schedule that deadlocks), in time the process ran.
  using Clock = std::chrono::steady_clock;
  constexpr std::chrono::milliseconds kSlice{100};
  Clock::duration waited{0};
  for (;;) {
    for (Message& m : box.messages) {
      if (m.full && m.key == k) {
        out->swap(m.data);  // the caller's old buffer stays here, idle, for a later message
        m.data.clear();
        m.full = false;
        return Status::Ok();
      }
    }
    {
      std::lock_guard<std::mutex> abort_lock(abort_mu_);
      if (!abort_reason_.empty()) return Status::FailedPrecondition("pipeline aborted: " + abort_reason_);
    }
    if (waited >= timeout)
      return Status::DeadlineExceeded(
          fmt::format("stage {} waited {} ms for the {}; the peer is dead or stuck", to, timeout.count(),
                      DescribeMessage(key, stages())));
    const Clock::duration ask = std::min<Clock::duration>(kSlice, timeout - waited);
    const Clock::time_point start = Clock::now();
    box.cv.wait_for(lock, ask);
    waited += std::min<Clock::duration>(Clock::now() - start, 2 * ask);
  }
}

void ThreadTransportHub::Abort(const std::string& reason) {
  {
    std::lock_guard<std::mutex> lock(abort_mu_);
    if (abort_reason_.empty()) abort_reason_ = reason;
  }
  for (auto& box : boxes_) {
    std::lock_guard<std::mutex> lock(box->mu);  // so no waiter misses the notification
    box->cv.notify_all();
  }
}

}  // namespace paci::exec
