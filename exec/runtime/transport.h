// Transport: how pipeline stages pass activations downstream and gradients upstream. A message
// is a float tensor tagged with its MessageKey (sched/op_messages.h), so a receive names exactly
// what it waits for and messages may arrive in any order. Implementations: in-process channels
// between threads (ThreadTransport) and MPI point-to-point between ranks (MpiTransport); a NCCL
// transport fits the same interface. Every wait has a deadline: a dead or silent peer becomes a
// DeadlineExceeded Status naming the peer and the message, never a hang.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "proto/status.h"
#include "sched/op_messages.h"

namespace paci::exec {

class Transport {
 public:
  virtual ~Transport() = default;
  // Stage index of this endpoint and the number of stages.
  virtual uint32_t stage() const = 0;
  virtual uint32_t stages() const = 0;
  // Queues `data` for `to_stage`; returns without waiting for the receiver.
  virtual Status Send(uint32_t to_stage, const MessageKey& key, std::span<const float> data) = 0;
  // Waits for the message `key` from `from_stage` and moves its payload into `out`.
  virtual Status Recv(uint32_t from_stage, const MessageKey& key, std::vector<float>* out,
                      std::chrono::milliseconds timeout) = 0;
  // Tells every peer to stop: their pending and future Recv calls fail with `reason`.
  virtual void Abort(const std::string& reason) = 0;
  // Waits until every message this endpoint sent has left its buffers.
  virtual Status Flush() { return Status::Ok(); }
};

// Human-readable message name for errors: "activation of micro-batch 5 from stage 1".
std::string DescribeMessage(const MessageKey& key, uint32_t stages);

}  // namespace paci::exec
