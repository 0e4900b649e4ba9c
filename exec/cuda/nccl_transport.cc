// NCCL transport. See nccl_transport.h; why it cannot deadlock: README.md.
#include "exec/cuda/nccl_transport.h"

// The C API only: the MPI C++ bindings are deprecated and warn under -Wextra.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <cstring>

#include <fmt/format.h>

namespace paci::exec {

namespace {

using Clock = std::chrono::steady_clock;

// Header of a host-API message: MessageKey fields and the payload length in floats, padded to
// 64 bytes so the payload behind it in the staging buffer stays aligned.
struct Header {
  uint64_t is_grad, micro_batch, from_virtual, to_virtual, count, pad[3];
};
constexpr size_t kHeaderBytes = sizeof(Header);
static_assert(kHeaderBytes == 64);

// Grows `buf` to `bytes` without freeing the old allocation now (cudaFree synchronises the whole
// device, which would wait for a group stuck on a dead peer): it is kept in `retired` until the end.
void GrowDevice(DeviceBuffer* buf, size_t bytes, std::vector<DeviceBuffer>* retired) {
  if (buf->bytes() >= bytes) return;
  retired->push_back(std::move(*buf));
  *buf = DeviceBuffer(bytes);
}

void GrowPinned(float** host, size_t* have, size_t bytes, std::vector<float*>* retired) {
  if (*have >= bytes) return;
  if (*host != nullptr) retired->push_back(*host);
  CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(host), bytes));
  *have = bytes;
}

}  // namespace

Result<std::unique_ptr<NcclTransport>> NcclTransport::Create(const MpiSession& session, int device,
                                                             std::chrono::milliseconds timeout) {
  const CudaDeviceProbe probe = cuda_probe_devices();
  const int ndev = probe.count;
  if (ndev == 0) return Status::FailedPrecondition("NCCL transport: " + probe.message);
  std::unique_ptr<NcclTransport> t(new NcclTransport());
  t->stage_ = static_cast<uint32_t>(session.rank());
  t->stages_ = static_cast<uint32_t>(session.size());
  t->exchange_timeout_ = timeout;
  t->device_ = device >= 0 ? device : session.local_rank() % ndev;
  CUDA_CHECK(cudaSetDevice(t->device_));

  ncclUniqueId id;
  if (session.rank() == 0) NCCL_CHECK(ncclGetUniqueId(&id));
  MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, MPI_COMM_WORLD);
  // Non-blocking: no NCCL call waits for a peer on the host, so every wait below has a deadline.
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  ncclResult_t r = ncclCommInitRankConfig(&t->comm_, session.size(), id, session.rank(), &config);
  const auto deadline = Clock::now() + timeout;
  while (r == ncclInProgress && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ncclCommGetAsyncError(t->comm_, &r);
  }
  if (r != ncclSuccess) {
    if (t->comm_ != nullptr) ncclCommAbort(t->comm_);
    t->comm_ = nullptr;
    if (r == ncclInProgress)
      return Status::DeadlineExceeded(fmt::format("NCCL transport: rank {}: the communicator was not ready after {} ms; "
                                                  "a rank is missing or stuck", t->stage_, timeout.count()));
    return Status::FailedPrecondition(fmt::format("NCCL transport: rank {}: {}", t->stage_, ncclGetErrorString(r)));
  }
  CUDA_CHECK(cudaStreamCreateWithFlags(&t->stream_, cudaStreamNonBlocking));
  CUDA_CHECK(cudaStreamCreateWithFlags(&t->copy_stream_, cudaStreamNonBlocking));
  t->watchdog_ = std::thread([p = t.get()] { p->Watch(); });
  return t;
}

NcclTransport::~NcclTransport() {
  // Best effort: errors while tearing down are not reported (the run's Status already was).
  if (comm_ != nullptr) (void)Flush();
  {
    std::lock_guard l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
  if (comm_ != nullptr) {
    ncclResult_t r = ncclCommFinalize(comm_);
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (r == ncclInProgress && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      ncclCommGetAsyncError(comm_, &r);
    }
    if (r == ncclSuccess) ncclCommDestroy(comm_);
    else ncclCommAbort(comm_);
  }
  for (cudaEvent_t e : all_events_) cudaEventDestroy(e);
  for (auto& s : staging_)
    if (s->pinned != nullptr) cudaFreeHost(s->pinned);
  if (recv_pinned_ != nullptr) cudaFreeHost(recv_pinned_);
  for (float* p : retired_pinned_) cudaFreeHost(p);
  if (stream_ != nullptr) cudaStreamDestroy(stream_);
  if (copy_stream_ != nullptr) cudaStreamDestroy(copy_stream_);
}

Status NcclTransport::CheckPeer(uint32_t peer) const {
  if (peer >= stages_ || peer == stage_)
    return Status::InvalidArgument(fmt::format("NCCL transport: rank {} has no peer {} (of {} ranks)", stage_, peer,
                                               stages_));
  return Status::Ok();
}

cudaEvent_t NcclTransport::TakeEventLocked() {
  if (!spare_events_.empty()) {
    cudaEvent_t e = spare_events_.back();
    spare_events_.pop_back();
    return e;
  }
  cudaEvent_t e;
  CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  all_events_.push_back(e);
  return e;
}

Status NcclTransport::FailLocked(Status why) {
  if (failed_.ok()) {
    failed_ = std::move(why);
    // Ends every NCCL kernel of this rank that waits on a peer, so no stream stays blocked.
    if (comm_ != nullptr) ncclCommAbort(comm_);
    comm_ = nullptr;
    std::fprintf(stderr, "rank %u: NCCL communicator aborted: %s\n", stage_, failed_.message().c_str());
    cv_.notify_all();
  }
  return failed_;
}

Status NcclTransport::CheckLocked() {
  if (!failed_.ok() || comm_ == nullptr) return failed_;
  const auto now = Clock::now();
  while (!posted_.empty()) {
    const cudaError_t e = cudaEventQuery(posted_.front().done);
    if (e == cudaErrorNotReady) break;
    if (e != cudaSuccess)
      return FailLocked(Status::Internal(fmt::format("rank {}: {}: {}", stage_, posted_.front().what,
                                                     cudaGetErrorString(e))));
    completed_seq_ = posted_.front().seq;
    spare_events_.push_back(posted_.front().done);
    posted_.pop_front();
    oldest_since_ = now;
    cv_.notify_all();
  }
  ncclResult_t async = ncclSuccess;
  ncclCommGetAsyncError(comm_, &async);
  if (async != ncclSuccess && async != ncclInProgress)
    return FailLocked(Status::FailedPrecondition(fmt::format(
        "rank {}: NCCL: {}{}", stage_, ncclGetErrorString(async), posted_.empty() ? "" : " during " + posted_.front().what)));
  if (!posted_.empty() && now - oldest_since_ > posted_.front().timeout)
    return FailLocked(Status::DeadlineExceeded(fmt::format("rank {}: {} did not complete within {} ms; the peer is dead or stuck",
                                                           stage_, posted_.front().what,
                                                           posted_.front().timeout.count())));
  return Status::Ok();
}

void NcclTransport::Watch() {
  CUDA_CHECK(cudaSetDevice(device_));  // events belong to this rank's device
  std::unique_lock l(mu_);
  while (!stop_) {
    cv_.wait_for(l, std::chrono::milliseconds(1));
    if (!stop_) (void)CheckLocked();
  }
}

// On the exchange path (called by the stage worker outside the CUDA backend's error scope) a
// failing NCCL or CUDA call fails the transport, which aborts the communicator and turns every
// later call into the same Status, instead of exiting the rank while its peers wait on it.
// With mu_ held.
#define PACI_NCCL_OR_FAIL(call)                                                                   \
  do {                                                                                            \
    const ncclResult_t r_ = (call);                                                               \
    if (r_ != ncclSuccess && r_ != ncclInProgress)                                                \
      return FailLocked(Status::Internal(                                                         \
          fmt::format("rank {}: NCCL: {} in {}", stage_, ncclGetErrorString(r_), #call)));         \
  } while (0)
#define PACI_CUDA_OR_FAIL(call)                                                                   \
  do {                                                                                            \
    const cudaError_t e_ = (call);                                                                \
    if (e_ != cudaSuccess) {                                                                      \
      (void)cudaGetLastError();                                                                   \
      return FailLocked(Status::Internal(                                                         \
          fmt::format("rank {}: CUDA: {} in {}", stage_, cudaGetErrorString(e_), #call)));         \
    }                                                                                             \
  } while (0)

Status NcclTransport::PostLocked(std::chrono::milliseconds timeout, uint64_t* seq) {
  *seq = posted_seq_;
  if (!failed_.ok()) return failed_;
  if (queued_.empty()) return Status::Ok();
  std::string what;
  for (const P2p& op : queued_) what += (what.empty() ? "" : "; ") + op.what;
  what = queued_.size() == 1 ? what : "the exchange {" + what + "}";
  const std::vector<P2p> ops = std::move(queued_);
  queued_.clear();
  // One group per exchange: NCCL posts its sends and receives together.
  // (A failure inside the group leaves it open; FailLocked aborts the communicator anyway.)
  PACI_NCCL_OR_FAIL(ncclGroupStart());
  for (const P2p& op : ops) {
    if (op.send) PACI_NCCL_OR_FAIL(ncclSend(op.data, op.bytes, ncclUint8, static_cast<int>(op.peer), comm_, stream_));
    else PACI_NCCL_OR_FAIL(ncclRecv(op.data, op.bytes, ncclUint8, static_cast<int>(op.peer), comm_, stream_));
  }
  ncclResult_t r = ncclGroupEnd();
  // Non-blocking communicator: the group may still be connecting to its peers.
  const auto deadline = Clock::now() + timeout;
  while (r == ncclInProgress && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::microseconds(50));
    ncclCommGetAsyncError(comm_, &r);
  }
  if (r == ncclInProgress)
    return FailLocked(Status::DeadlineExceeded(fmt::format("rank {}: could not post {} within {} ms; the peer is dead or stuck",
                                                           stage_, what, timeout.count())));
  if (r != ncclSuccess)
    return FailLocked(Status::FailedPrecondition(fmt::format("rank {}: NCCL: {} while posting {}", stage_,
                                                             ncclGetErrorString(r), what)));
  cudaEvent_t done = TakeEventLocked();
  PACI_CUDA_OR_FAIL(cudaEventRecord(done, stream_));
  for (const P2p& op : ops) {
    if (op.send && op.sent != nullptr) PACI_CUDA_OR_FAIL(cudaEventRecord(op.sent, stream_));
    if (!op.send && op.consumer != nullptr) PACI_CUDA_OR_FAIL(cudaStreamWaitEvent(op.consumer, done, 0));
  }
  if (posted_.empty()) oldest_since_ = Clock::now();
  posted_.push_back(Posted{++posted_seq_, done, std::move(what), timeout});
  *seq = posted_seq_;
  cv_.notify_all();
  return Status::Ok();
}

Status NcclTransport::QueueLocked(P2p op) {
  queued_.push_back(std::move(op));
  if (in_exchange_) return Status::Ok();
  uint64_t seq;
  return PostLocked(exchange_timeout_, &seq);
}

void NcclTransport::BeginExchange() { in_exchange_ = true; }

Status NcclTransport::EndExchange(std::chrono::milliseconds timeout) {
  in_exchange_ = false;
  std::lock_guard l(mu_);
  uint64_t seq;
  return PostLocked(timeout, &seq);
}

Status NcclTransport::WaitGroup(uint64_t seq, std::chrono::milliseconds timeout, const std::string& what) {
  std::unique_lock l(mu_);
  const auto deadline = Clock::now() + timeout;
  while (failed_.ok() && completed_seq_ < seq) {
    if (Clock::now() > deadline)
      return FailLocked(Status::DeadlineExceeded(fmt::format("rank {} waited {} ms for {}; the peer is dead or stuck",
                                                             stage_, timeout.count(), what)));
    (void)CheckLocked();
    if (completed_seq_ < seq) cv_.wait_for(l, std::chrono::microseconds(50));
  }
  return failed_;
}

Status NcclTransport::SendDevice(uint32_t to, const MessageKey& key, const void* data, size_t bytes, void* stream,
                                 void* sent) {
  PACI_RETURN_IF_ERROR(CheckPeer(to));
  P2p op;
  op.send = true;
  op.data = const_cast<void*>(data);  // ncclSend reads it only
  op.bytes = bytes;
  op.peer = static_cast<int>(to);
  op.sent = static_cast<cudaEvent_t>(sent);
  op.what = fmt::format("sending the {} to stage {}", DescribeMessage(key, stages_), to);
  std::lock_guard l(mu_);
  if (!failed_.ok()) return failed_;
  // The data is ready once the producer's stream has passed everything issued on it so far. The
  // wait goes on the communication stream now, before the group it guards.
  cudaEvent_t ready = TakeEventLocked();
  PACI_CUDA_OR_FAIL(cudaEventRecord(ready, static_cast<cudaStream_t>(stream)));
  PACI_CUDA_OR_FAIL(cudaStreamWaitEvent(stream_, ready, 0));
  spare_events_.push_back(ready);  // the wait captured this record; the event may be reused
  return QueueLocked(std::move(op));
}

Status NcclTransport::RecvDevice(uint32_t from, const MessageKey& key, void* data, size_t bytes, void* stream,
                                 void* writable) {
  PACI_RETURN_IF_ERROR(CheckPeer(from));
  P2p op;
  op.data = data;
  op.bytes = bytes;
  op.peer = static_cast<int>(from);
  op.consumer = static_cast<cudaStream_t>(stream);
  op.what = "receiving the " + DescribeMessage(key, stages_);
  std::lock_guard l(mu_);
  if (!failed_.ok()) return failed_;
  // Waited for now, so the caller may record `writable` again at once.
  if (writable != nullptr) PACI_CUDA_OR_FAIL(cudaStreamWaitEvent(stream_, static_cast<cudaEvent_t>(writable), 0));
  return QueueLocked(std::move(op));
}

Status NcclTransport::Send(uint32_t to, const MessageKey& key, std::span<const float> data) {
  PACI_RETURN_IF_ERROR(CheckPeer(to));
  std::lock_guard l(mu_);
  if (!failed_.ok()) return failed_;
  // A staging buffer whose group has completed (or a new one).
  Staging* st = nullptr;
  for (auto& s : staging_)
    if (s->seq <= completed_seq_) st = s.get();
  if (st == nullptr) st = staging_.emplace_back(std::make_unique<Staging>()).get();
  const size_t total = kHeaderBytes + data.size_bytes();
  GrowDevice(&st->dev, total, &retired_device_);
  GrowPinned(&st->pinned, &st->pinned_bytes, total, &retired_pinned_);
  const Header h{key.is_grad, key.micro_batch, key.from_virtual, key.to_virtual, data.size(), {0, 0, 0}};
  std::memcpy(st->pinned, &h, kHeaderBytes);
  if (!data.empty()) std::memcpy(reinterpret_cast<char*>(st->pinned) + kHeaderBytes, data.data(), data.size_bytes());
  // Stream order puts the copy before the group that sends it.
  CUDA_CHECK(cudaMemcpyAsync(st->dev.get(), st->pinned, total, cudaMemcpyHostToDevice, stream_));
  st->seq = posted_seq_ + 1;  // the next group carries it
  const std::string what = fmt::format("sending the {} to stage {}", DescribeMessage(key, stages_), to);
  const int peer = static_cast<int>(to);
  P2p header{true, st->dev.get(), kHeaderBytes, peer, nullptr, nullptr, what + " (header)"};
  if (data.empty()) return QueueLocked(std::move(header));  // the receiver posts no payload then
  queued_.push_back(std::move(header));
  return QueueLocked(P2p{true, st->dev.as<char>() + kHeaderBytes, data.size_bytes(), peer, nullptr, nullptr, what});
}

Status NcclTransport::ReceiveHost(uint32_t from, void* out, size_t bytes, std::chrono::milliseconds timeout,
                                  const std::string& what) {
  uint64_t seq;
  {
    std::lock_guard l(mu_);
    if (!failed_.ok()) return failed_;
    GrowDevice(&recv_dev_, bytes, &retired_device_);
    GrowPinned(&recv_pinned_, &recv_pinned_bytes_, bytes, &retired_pinned_);
    // Posted at once, with whatever an open exchange holds: the data is needed now.
    queued_.push_back(P2p{false, recv_dev_.get(), bytes, static_cast<int>(from), nullptr, nullptr, "receiving " + what});
    PACI_RETURN_IF_ERROR(PostLocked(timeout, &seq));
  }
  PACI_RETURN_IF_ERROR(WaitGroup(seq, timeout, what));
  // The group has completed, so this copy cannot wait on a peer.
  CUDA_CHECK(cudaMemcpyAsync(recv_pinned_, recv_dev_.get(), bytes, cudaMemcpyDeviceToHost, copy_stream_));
  CUDA_CHECK(cudaStreamSynchronize(copy_stream_));
  std::memcpy(out, recv_pinned_, bytes);
  return Status::Ok();
}

Status NcclTransport::Recv(uint32_t from, const MessageKey& key, std::vector<float>* out,
                           std::chrono::milliseconds timeout) {
  PACI_RETURN_IF_ERROR(CheckPeer(from));
  const Key want{from, key};
  const std::string what = "the " + DescribeMessage(key, stages_);
  for (;;) {
    auto it = mailbox_.find(want);
    if (it != mailbox_.end()) {
      *out = std::move(it->second);
      mailbox_.erase(it);
      return Status::Ok();
    }
    // The next message from `from`: its header says which key it is and how long it is.
    Header h;
    PACI_RETURN_IF_ERROR(ReceiveHost(from, &h, kHeaderBytes, timeout, "the header of the next message after " + what));
    const MessageKey got{h.is_grad != 0, h.micro_batch, static_cast<uint32_t>(h.from_virtual),
                         static_cast<uint32_t>(h.to_virtual)};
    std::vector<float>& slot = mailbox_[Key{from, got}];
    slot.resize(h.count);
    if (h.count > 0)
      PACI_RETURN_IF_ERROR(ReceiveHost(from, slot.data(), h.count * sizeof(float), timeout,
                                       "the payload of the " + DescribeMessage(got, stages_)));
  }
}

void NcclTransport::Abort(const std::string& reason) {
  {
    std::lock_guard l(mu_);
    (void)FailLocked(Status::FailedPrecondition(reason.empty() ? "NCCL transport aborted" : reason));
  }
  // As MpiTransport: end the whole job so no peer waits for a message that will never come.
  MPI_Abort(MPI_COMM_WORLD, 3);
}

Status NcclTransport::Flush() {
  std::unique_lock l(mu_);
  uint64_t seq;
  PACI_RETURN_IF_ERROR(PostLocked(exchange_timeout_, &seq));
  // CheckLocked enforces every group's deadline, so this ends.
  while (failed_.ok() && !posted_.empty()) {
    (void)CheckLocked();
    if (!posted_.empty()) cv_.wait_for(l, std::chrono::microseconds(100));
  }
  return failed_;
}

}  // namespace paci::exec
