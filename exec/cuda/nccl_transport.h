// NcclTransport: the Transport (exec/transport.h) between stage ranks over NCCL send/recv, one rank
// per GPU, bootstrapped over MPI (rank 0 makes the ncclUniqueId and broadcasts it), so it works
// across nodes under mpirun or srun. Every directed link between neighbouring stages (and the wrap
// link of interleaved schedules) gets its own communicator, split from the world one, and its own
// stream: NCCL matches a link's sends and receives in order, and two neighbours sending to each
// other at once can never block each other's stream. Communication runs on those streams,
// overlapping compute on the others.
//   Host API (Transport): floats are staged through device memory; each message is a small header
// (the MessageKey and length) then the payload, so receives may name keys in any order (messages
// for other keys are parked, as MpiTransport does). Device API (SendDevice/RecvDevice): no header,
// no copy: a link's messages must be received in the order they were sent (true of the schedules'
// per-link streams), and stream order replaces waiting.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <tuple>
#include <vector>

#include <nccl.h>

#include "exec/cuda/cuda_common.h"
#include "exec/runtime/mpi_transport.h"
#include "exec/runtime/transport.h"

#define NCCL_CHECK(call)                                                                     \
  do {                                                                                       \
    ncclResult_t r_ = (call);                                                                \
    if (r_ != ncclSuccess)                                                                   \
      ::paci::exec::cuda_fail("NCCL", ncclGetErrorString(r_), #call, __FILE__, __LINE__);    \
  } while (0)

namespace paci::exec {

class NcclTransport : public Transport {
 public:
  // Collective over the MPI job: every rank must call it. device < 0 picks the node-local rank
  // modulo the visible devices. `wrap` adds the links between the last stage and stage 0.
  static Result<std::unique_ptr<NcclTransport>> Create(const MpiSession& session, int device = -1,
                                                       bool wrap = true);
  ~NcclTransport() override;
  NcclTransport(const NcclTransport&) = delete;
  NcclTransport& operator=(const NcclTransport&) = delete;

  uint32_t stage() const override { return stage_; }
  uint32_t stages() const override { return stages_; }
  Status Send(uint32_t to_stage, const MessageKey& key, std::span<const float> data) override;
  Status Recv(uint32_t from_stage, const MessageKey& key, std::vector<float>* out,
              std::chrono::milliseconds timeout) override;
  void Abort(const std::string& reason) override;
  Status Flush() override;

  // Device API (Transport): `stream` is a cudaStream_t, `sent`/`writable` cudaEvent_t (may be
  // null). SendDevice: the link's stream waits for `stream` (all work issued so far), sends
  // `bytes` from device memory, then records `sent`. RecvDevice: the link's stream waits for
  // `writable`, receives into device memory, and `stream` waits for it. Both return at once. The
  // key is not sent: a link's messages are matched in the order they were sent.
  bool moves_device_buffers() const override { return true; }
  Status SendDevice(uint32_t to_stage, const MessageKey& key, const void* data, size_t bytes, void* stream,
                    void* sent) override;
  Status RecvDevice(uint32_t from_stage, const MessageKey& key, void* data, size_t bytes, void* stream,
                    void* writable) override;

 private:
  struct Link {
    ncclComm_t comm = nullptr;
    cudaStream_t stream = nullptr;
    int peer = 0;  // the peer's rank inside the 2-rank communicator
  };
  struct Pending;  // a host send in flight: staging buffer + completion event
  NcclTransport() = default;
  Link* LinkTo(uint32_t to);
  Link* LinkFrom(uint32_t from);
  void Progress();  // frees finished sends
  Status WaitEvent(cudaEvent_t ev, std::chrono::milliseconds timeout, const std::string& what);

  uint32_t stage_ = 0, stages_ = 1;
  int device_ = 0;
  ncclComm_t world_ = nullptr;
  std::map<std::pair<uint32_t, uint32_t>, Link> links_;  // (from, to) of this rank's directed links
  std::list<std::unique_ptr<Pending>> pending_;
  using Key = std::pair<uint32_t, MessageKey>;  // (from stage, message)
  std::map<Key, std::vector<float>> mailbox_;
  DeviceBuffer recv_header_, recv_payload_;
  cudaEvent_t event_ = nullptr;
  std::string aborted_;
};

}  // namespace paci::exec
