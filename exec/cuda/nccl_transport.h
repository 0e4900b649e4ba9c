// NcclTransport: the Transport (exec/runtime/transport.h) between stage ranks over NCCL send/recv,
// one rank per stage and GPU, bootstrapped over MPI (rank 0 makes the ncclUniqueId and broadcasts
// it), so it works across nodes under mpirun or srun.
//   Layout: ONE communicator holds every rank and ONE stream carries all of this rank's traffic.
// NCCL warns that concurrent operations on several communicators can deadlock; on one
// communicator a rank's operations run in the order it issued them.
//   Exchanges: the sends and receives of one point of a stage's op stream (BeginExchange ..
// EndExchange, see the stage worker) are posted as ONE ncclGroupStart/ncclGroupEnd, so two ranks
// that send to each other at the same point never wait for each other's receive. README.md says
// why the IR's op order then makes a whole run deadlock-free.
//   Dead peers: the communicator is non-blocking; a watchdog thread polls every posted group's
// completion and ncclCommGetAsyncError. A group still unfinished `timeout` after it became the
// oldest one, or an NCCL error, aborts the communicator (ncclCommAbort releases every kernel
// waiting on it), and every later call returns the DeadlineExceeded naming that exchange.
//   Host API (Send/Recv): a fixed header (MessageKey + length) then the payload, staged through
// device memory; keys may be received in any order (others are parked in a mailbox, as
// MpiTransport does). A host receive waits on the host, with its deadline, for the group that
// carries the data, and only then copies it: it never blocks inside a copy.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nccl.h>

#include "exec/cuda/cuda_common.h"
#include "exec/runtime/mpi_transport.h"
#include "exec/runtime/transport.h"

#define NCCL_CHECK(call)                                                                     \
  do {                                                                                       \
    ncclResult_t r_ = (call);                                                                \
    if (r_ != ncclSuccess && r_ != ncclInProgress)                                           \
      ::paci::exec::cuda_fail("NCCL", ncclGetErrorString(r_), #call, __FILE__, __LINE__);    \
  } while (0)

namespace paci::exec {

class NcclTransport : public Transport {
 public:
  // Collective over the MPI job: every rank must call it. Stage = world rank; device < 0 picks
  // MpiSession::local_rank() modulo the visible devices. `timeout` bounds the communicator's
  // creation (a rank that never arrives).
  static Result<std::unique_ptr<NcclTransport>> Create(const MpiSession& session, int device = -1,
                                                       std::chrono::milliseconds timeout = std::chrono::seconds(60));
  ~NcclTransport() override;
  NcclTransport(const NcclTransport&) = delete;
  NcclTransport& operator=(const NcclTransport&) = delete;

  uint32_t stage() const override { return stage_; }
  uint32_t stages() const override { return stages_; }
  int device() const { return device_; }
  Status Send(uint32_t to_stage, const MessageKey& key, std::span<const float> data) override;
  Status Recv(uint32_t from_stage, const MessageKey& key, std::vector<float>* out,
              std::chrono::milliseconds timeout) override;
  void Abort(const std::string& reason) override;
  // Waits until every posted group has completed (or the watchdog failed one).
  Status Flush() override;

  bool rendezvous() const override { return true; }
  void BeginExchange() override;
  Status EndExchange(std::chrono::milliseconds timeout) override;

  // Device API (Transport): `stream` is a cudaStream_t, `sent`/`writable` cudaEvent_t (may be
  // null). SendDevice: the group waits for `stream` (all work issued on it so far), sends `bytes`
  // from device memory, then records `sent`. RecvDevice: the group waits for `writable`, receives
  // into device memory, and `stream` waits for the group. No header: a link's messages are
  // matched in the order they were posted, which the IR's per-link op order gives.
  bool moves_device_buffers() const override { return true; }
  Status SendDevice(uint32_t to_stage, const MessageKey& key, const void* data, size_t bytes, void* stream,
                    void* sent) override;
  Status RecvDevice(uint32_t from_stage, const MessageKey& key, void* data, size_t bytes, void* stream,
                    void* writable) override;

 private:
  // One ncclSend or ncclRecv waiting to be posted in the next group.
  struct P2p {
    bool send = false;
    void* data = nullptr;
    size_t bytes = 0;
    int peer = 0;
    cudaEvent_t sent = nullptr;       // send: recorded after the group
    cudaStream_t consumer = nullptr;  // recv: waits for the group
    std::string what;                 // "send of the activation of micro-batch 5 to stage 1"
  };
  // A posted group, until its completion event has passed.
  struct Posted {
    uint64_t seq = 0;
    cudaEvent_t done = nullptr;
    std::string what;
    std::chrono::milliseconds timeout{0};
  };
  // Device staging of one host send (header + payload), reusable once its group has completed.
  struct Staging {
    DeviceBuffer dev;
    float* pinned = nullptr;
    size_t pinned_bytes = 0;
    uint64_t seq = 0;  // the group that carries it
  };

  NcclTransport() = default;
  // `Locked`: the caller holds mu_.
  Status QueueLocked(P2p op);  // and posts it at once outside an exchange
  // Posts every queued op as one group; `seq` is the group's number (completed in order).
  Status PostLocked(std::chrono::milliseconds timeout, uint64_t* seq);
  // Retires completed groups; fails on an NCCL error or when the oldest group is overdue.
  Status CheckLocked();
  Status FailLocked(Status why);  // aborts the communicator; every later call returns `why`
  Status WaitGroup(uint64_t seq, std::chrono::milliseconds timeout, const std::string& what);
  // Host API: receives `bytes` from `from` into host memory `out`, waiting at most `timeout`.
  Status ReceiveHost(uint32_t from, void* out, size_t bytes, std::chrono::milliseconds timeout,
                     const std::string& what);
  Status CheckPeer(uint32_t peer) const;
  void Watch();  // the watchdog thread
  cudaEvent_t TakeEventLocked();

  uint32_t stage_ = 0, stages_ = 1;
  int device_ = 0;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;       // every group, in issue order
  cudaStream_t copy_stream_ = nullptr;  // host receives' copies of completed data
  bool in_exchange_ = false;
  std::chrono::milliseconds exchange_timeout_{60000};

  std::mutex mu_;  // everything below; the watchdog shares it
  std::condition_variable cv_;
  std::vector<P2p> queued_;
  std::deque<Posted> posted_;
  uint64_t posted_seq_ = 0, completed_seq_ = 0;
  std::chrono::steady_clock::time_point oldest_since_;
  Status failed_;
  bool stop_ = false;
  std::vector<cudaEvent_t> spare_events_, all_events_;
  std::vector<std::unique_ptr<Staging>> staging_;
  std::vector<DeviceBuffer> retired_device_;  // outgrown, freed at the end (cudaFree synchronises)
  std::vector<float*> retired_pinned_;
  std::thread watchdog_;

  using Key = std::pair<uint32_t, MessageKey>;  // (from stage, message); receiving thread only
  std::map<Key, std::vector<float>> mailbox_;
  DeviceBuffer recv_dev_;
  float* recv_pinned_ = nullptr;
  size_t recv_pinned_bytes_ = 0;
};

}  // namespace paci::exec
