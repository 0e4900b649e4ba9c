// Transport: how pipeline stages pass activations downstream and gradients upstream. A message
// is a float tensor tagged with its MessageKey (sched/op_messages.h), so a receive names exactly
// what it waits for and messages may arrive in any order. Implementations: in-process channels
// between threads (ThreadTransport) and MPI point-to-point between ranks (MpiTransport), both on
// host buffers; NCCL (exec/cuda/nccl_transport.h) also moves device buffers, stream-ordered.
// A GPU backend uses the device API when the transport has it and stages through host memory
// otherwise. Every wait has a deadline: a dead or silent peer becomes a DeadlineExceeded Status
// naming the peer and the message, never a hang.
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
  // Waits for the message `key` from `from_stage` and puts its payload into `out`. `out`'s old
  // buffer may be kept by the transport for a later message (ThreadTransport swaps), so a caller
  // that passes an idle buffer of the right capacity lets the exchange allocate nothing.
  virtual Status Recv(uint32_t from_stage, const MessageKey& key, std::vector<float>* out,
                      std::chrono::milliseconds timeout) = 0;
  // Tells every peer to stop: their pending and future Recv calls fail with `reason`.
  virtual void Abort(const std::string& reason) = 0;
  // Waits until every message this endpoint sent has left its buffers.
  virtual Status Flush() { return Status::Ok(); }

  // An exchange: the sends and receives a stage does at one point of its op stream (a run of
  // consecutive SEND/RECV ops in the IR). The stage worker brackets every run with these calls;
  // NCCL posts the run as one group (ncclGroupStart/End), so two neighbours that send to each
  // other at the same point cannot block each other. Host transports send and receive at once.
  // EndExchange fails with DeadlineExceeded when the group cannot even be posted within `timeout`.
  virtual void BeginExchange() {}
  virtual Status EndExchange(std::chrono::milliseconds /*timeout*/) { return Status::Ok(); }

  // Whether a send may wait until its peer posts the matching receive (NCCL): the stage worker then
  // posts its ops in PlanExchanges' order (exchange_plan.h), which cannot deadlock.
  virtual bool rendezvous() const { return false; }

  // Device API, for transports that move GPU memory themselves (NCCL). `stream` and the events
  // are a cudaStream_t and cudaEvent_t, opaque here so this header needs no CUDA. SendDevice sends
  // once `stream` has passed the work issued so far and records `sent` (may be null) when `data`
  // may be written again; RecvDevice receives once `writable` (may be null) has passed, and makes
  // `stream` wait for the data. Both return at once; a link's messages arrive in send order.
  // Inside an exchange they are posted at EndExchange; outside one, each is posted on its own.
  virtual bool moves_device_buffers() const { return false; }
  virtual Status SendDevice(uint32_t /*to_stage*/, const MessageKey& /*key*/, const void* /*data*/,
                            size_t /*bytes*/, void* /*stream*/, void* /*sent*/) {
    return Status::FailedPrecondition("this transport moves host buffers only");
  }
  virtual Status RecvDevice(uint32_t /*from_stage*/, const MessageKey& /*key*/, void* /*data*/,
                            size_t /*bytes*/, void* /*stream*/, void* /*writable*/) {
    return Status::FailedPrecondition("this transport moves host buffers only");
  }
};

// Human-readable message name for errors: "activation of micro-batch 5 from stage 1".
std::string DescribeMessage(const MessageKey& key, uint32_t stages);

}  // namespace paci::exec
