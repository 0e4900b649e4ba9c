// ThreadTransport: the in-process transport, one endpoint per stage thread, all sharing one
// ThreadTransportHub (a mailbox per stage). A send copies the payload once, into an idle buffer
// of the receiver's mailbox; a receive swaps that buffer with the caller's vector, so the caller's
// old buffer becomes the mailbox's next idle one. Buffers circulate and, once every mailbox has
// held its most messages at once (bounded by the stages' in-flight micro-batches), nothing is
// allocated.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <tuple>
#include <vector>

#include "exec/runtime/transport.h"

namespace paci::exec {

class ThreadTransportHub {
 public:
  explicit ThreadTransportHub(uint32_t stages);
  uint32_t stages() const { return static_cast<uint32_t>(boxes_.size()); }
  // The endpoint for `stage`; valid while the hub lives.
  std::unique_ptr<Transport> Endpoint(uint32_t stage);
  // Makes `messages` idle buffers of `floats` each in `stage`'s mailbox, written once, before the
  // run (its memory plan), so early sends do not allocate them either.
  void Reserve(uint32_t stage, uint32_t messages, size_t floats);

 private:
  friend class ThreadTransport;
  using Key = std::pair<uint32_t, MessageKey>;  // (from stage, message)
  struct Message {
    Key key;
    bool full = false;         // holds an undelivered payload; else an idle buffer
    std::vector<float> data;
  };
  struct Mailbox {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<Message> messages;  // never shrinks: idle entries keep their buffers
  };
  void Deliver(uint32_t from, uint32_t to, const MessageKey& key, std::span<const float> data);
  Status Take(uint32_t from, uint32_t to, const MessageKey& key, std::vector<float>* out,
              std::chrono::milliseconds timeout);
  void Abort(const std::string& reason);

  std::vector<std::unique_ptr<Mailbox>> boxes_;
  std::mutex abort_mu_;
  std::string abort_reason_;  // non-empty once any endpoint aborted
};

}  // namespace paci::exec
