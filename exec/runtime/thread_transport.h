// ThreadTransport: the in-process transport, one endpoint per stage thread, all sharing one
// ThreadTransportHub (a mailbox per stage). Payloads are moved, never copied twice.
#pragma once

#include <condition_variable>
#include <map>
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

 private:
  friend class ThreadTransport;
  using Key = std::pair<uint32_t, MessageKey>;  // (from stage, message)
  struct Mailbox {
    std::mutex mu;
    std::condition_variable cv;
    std::map<Key, std::vector<float>> messages;
  };
  void Deliver(uint32_t from, uint32_t to, const MessageKey& key, std::vector<float> data);
  Status Take(uint32_t from, uint32_t to, const MessageKey& key, std::vector<float>* out,
              std::chrono::milliseconds timeout);
  void Abort(const std::string& reason);

  std::vector<std::unique_ptr<Mailbox>> boxes_;
  std::mutex abort_mu_;
  std::string abort_reason_;  // non-empty once any endpoint aborted
};

}  // namespace paci::exec
