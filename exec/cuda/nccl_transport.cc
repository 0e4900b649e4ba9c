// NCCL transport. See nccl_transport.h.
#include "exec/cuda/nccl_transport.h"

// The C API only: the MPI C++ bindings are deprecated and warn under -Wextra.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <chrono>
#include <cstring>
#include <thread>

#include <fmt/format.h>

namespace paci::exec {

namespace {

// Header of a host-API message: MessageKey fields and the payload length in floats.
struct Header {
  uint64_t is_grad, micro_batch, from_virtual, to_virtual, count;
};
constexpr size_t kHeaderWords = sizeof(Header) / sizeof(uint64_t);

}  // namespace

struct NcclTransport::Pending {
  DeviceBuffer header, payload;
  cudaEvent_t done = nullptr;
};

Result<std::unique_ptr<NcclTransport>> NcclTransport::Create(const MpiSession& session, int device, bool wrap) {
  const int ndev = cuda_device_count();
  if (ndev == 0) return Status::FailedPrecondition("NCCL transport: no CUDA device on this rank");
  std::unique_ptr<NcclTransport> t(new NcclTransport());
  t->stage_ = static_cast<uint32_t>(session.rank());
  t->stages_ = static_cast<uint32_t>(session.size());
  if (device < 0) {
    // Node-local rank: the ranks sharing this node's memory, in world order (mpirun and srun alike).
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, session.rank(), MPI_INFO_NULL, &local);
    int local_rank = 0;
    MPI_Comm_rank(local, &local_rank);
    MPI_Comm_free(&local);
    device = local_rank % ndev;
  }
  t->device_ = device;
  CUDA_CHECK(cudaSetDevice(device));

  ncclUniqueId id;
  if (session.rank() == 0) NCCL_CHECK(ncclGetUniqueId(&id));
  MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, MPI_COMM_WORLD);
  NCCL_CHECK(ncclCommInitRank(&t->world_, session.size(), id, session.rank()));

  // Directed links, split from the world communicator in the same order on every rank (splits are
  // collective): s -> s+1 and s+1 -> s for every neighbour pair, then the wrap pair.
  std::vector<std::pair<uint32_t, uint32_t>> directed;
  const uint32_t P = t->stages_;
  for (uint32_t s = 0; s + 1 < P; s++) {
    directed.push_back({s, s + 1});
    directed.push_back({s + 1, s});
  }
  if (wrap && P > 2) {
    directed.push_back({P - 1, 0});
    directed.push_back({0, P - 1});
  }
  for (const auto& [from, to] : directed) {
    const bool member = t->stage_ == from || t->stage_ == to;
    ncclComm_t comm = nullptr;
    // Key = stage, so inside the pair the lower stage is rank 0.
    NCCL_CHECK(ncclCommSplit(t->world_, member ? 0 : NCCL_SPLIT_NOCOLOR, static_cast<int>(t->stage_), &comm,
                             nullptr));
    if (!member) continue;
    Link link;
    link.comm = comm;
    link.peer = (t->stage_ == std::min(from, to)) ? 1 : 0;
    CUDA_CHECK(cudaStreamCreateWithFlags(&link.stream, cudaStreamNonBlocking));
    t->links_[{from, to}] = link;
  }
  CUDA_CHECK(cudaEventCreateWithFlags(&t->event_, cudaEventDisableTiming));
  t->recv_header_.reserve(sizeof(Header));
  return t;
}

NcclTransport::~NcclTransport() {
  // Best effort: errors while tearing down are not reported (the run's Status already was).
  (void)Flush();
  for (auto& [k, link] : links_) {
    if (link.comm != nullptr) ncclCommDestroy(link.comm);
    if (link.stream != nullptr) cudaStreamDestroy(link.stream);
  }
  if (world_ != nullptr) ncclCommDestroy(world_);
  if (event_ != nullptr) cudaEventDestroy(event_);
}

NcclTransport::Link* NcclTransport::LinkTo(uint32_t to) {
  auto it = links_.find({stage_, to});
  return it == links_.end() ? nullptr : &it->second;
}

NcclTransport::Link* NcclTransport::LinkFrom(uint32_t from) {
  auto it = links_.find({from, stage_});
  return it == links_.end() ? nullptr : &it->second;
}

void NcclTransport::Progress() {
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (cudaEventQuery((*it)->done) == cudaSuccess) {
      cudaEventDestroy((*it)->done);
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
}

Status NcclTransport::WaitEvent(cudaEvent_t ev, std::chrono::milliseconds timeout, const std::string& what) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const cudaError_t e = cudaEventQuery(ev);
    if (e == cudaSuccess) return Status::Ok();
    if (e != cudaErrorNotReady) return Status::Internal(fmt::format("{}: {}", what, cudaGetErrorString(e)));
    for (auto& [k, link] : links_) {
      ncclResult_t async = ncclSuccess;
      ncclCommGetAsyncError(link.comm, &async);
      if (async != ncclSuccess && async != ncclInProgress)
        return Status::FailedPrecondition(fmt::format("{}: NCCL: {}", what, ncclGetErrorString(async)));
    }
    if (std::chrono::steady_clock::now() > deadline)
      return Status::DeadlineExceeded(fmt::format("rank {} waited {} ms for {}; the peer is dead or stuck", stage_,
                                                  timeout.count(), what));
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

Status NcclTransport::Send(uint32_t to, const MessageKey& key, std::span<const float> data) {
  if (!aborted_.empty()) return Status::FailedPrecondition(aborted_);
  Link* link = LinkTo(to);
  if (link == nullptr) return Status::InvalidArgument(fmt::format("NCCL transport: no link {} -> {}", stage_, to));
  Progress();
  auto p = std::make_unique<Pending>();
  const Header h{key.is_grad, key.micro_batch, key.from_virtual, key.to_virtual, data.size()};
  p->header.reserve(sizeof(Header));
  p->payload.reserve(std::max<size_t>(1, data.size()) * sizeof(float));
  CUDA_CHECK(cudaMemcpyAsync(p->header.get(), &h, sizeof(h), cudaMemcpyHostToDevice, link->stream));
  if (!data.empty())
    CUDA_CHECK(cudaMemcpyAsync(p->payload.get(), data.data(), data.size_bytes(), cudaMemcpyHostToDevice, link->stream));
  // Pageable host memory: the copies above have read `data` by the time they return.
  NCCL_CHECK(ncclSend(p->header.get(), kHeaderWords, ncclUint64, link->peer, link->comm, link->stream));
  if (!data.empty()) NCCL_CHECK(ncclSend(p->payload.get(), data.size(), ncclFloat32, link->peer, link->comm, link->stream));
  CUDA_CHECK(cudaEventCreateWithFlags(&p->done, cudaEventDisableTiming));
  CUDA_CHECK(cudaEventRecord(p->done, link->stream));
  pending_.push_back(std::move(p));
  return Status::Ok();
}

Status NcclTransport::Recv(uint32_t from, const MessageKey& key, std::vector<float>* out,
                           std::chrono::milliseconds timeout) {
  if (!aborted_.empty()) return Status::FailedPrecondition(aborted_);
  const Key want{from, key};
  Link* link = LinkFrom(from);
  if (link == nullptr) return Status::InvalidArgument(fmt::format("NCCL transport: no link {} -> {}", from, stage_));
  const std::string what = DescribeMessage(key, stages_);
  for (;;) {
    auto it = mailbox_.find(want);
    if (it != mailbox_.end()) {
      *out = std::move(it->second);
      mailbox_.erase(it);
      return Status::Ok();
    }
    // Next message on the link: header first (it says how much payload follows).
    NCCL_CHECK(ncclRecv(recv_header_.get(), kHeaderWords, ncclUint64, link->peer, link->comm, link->stream));
    CUDA_CHECK(cudaEventRecord(event_, link->stream));
    PACI_RETURN_IF_ERROR(WaitEvent(event_, timeout, "the " + what));
    Header h;
    CUDA_CHECK(cudaMemcpy(&h, recv_header_.get(), sizeof(h), cudaMemcpyDeviceToHost));
    std::vector<float>& slot = mailbox_[Key{from, MessageKey{h.is_grad != 0, h.micro_batch, static_cast<uint32_t>(h.from_virtual),
                                                         static_cast<uint32_t>(h.to_virtual)}}];
    slot.resize(h.count);
    if (h.count > 0) {
      recv_payload_.reserve(h.count * sizeof(float));
      NCCL_CHECK(ncclRecv(recv_payload_.get(), h.count, ncclFloat32, link->peer, link->comm, link->stream));
      CUDA_CHECK(cudaMemcpyAsync(slot.data(), recv_payload_.get(), h.count * sizeof(float), cudaMemcpyDeviceToHost,
                                 link->stream));
      CUDA_CHECK(cudaEventRecord(event_, link->stream));
      PACI_RETURN_IF_ERROR(WaitEvent(event_, timeout, "the payload of the " + what));
    }
  }
}

Status NcclTransport::SendDevice(uint32_t to, const MessageKey& /*key*/, const void* data, size_t bytes,
                                 void* stream, void* sent_event) {
  const cudaStream_t producer = static_cast<cudaStream_t>(stream);
  const cudaEvent_t sent = static_cast<cudaEvent_t>(sent_event);
  if (!aborted_.empty()) return Status::FailedPrecondition(aborted_);
  Link* link = LinkTo(to);
  if (link == nullptr) return Status::InvalidArgument(fmt::format("NCCL transport: no link {} -> {}", stage_, to));
  cudaEvent_t ready;
  CUDA_CHECK(cudaEventCreateWithFlags(&ready, cudaEventDisableTiming));
  CUDA_CHECK(cudaEventRecord(ready, producer));
  CUDA_CHECK(cudaStreamWaitEvent(link->stream, ready, 0));
  CUDA_CHECK(cudaEventDestroy(ready));  // destroying a recorded event is safe; the wait captured it
  NCCL_CHECK(ncclSend(data, bytes, ncclUint8, link->peer, link->comm, link->stream));
  if (sent != nullptr) CUDA_CHECK(cudaEventRecord(sent, link->stream));
  return Status::Ok();
}

Status NcclTransport::RecvDevice(uint32_t from, const MessageKey& /*key*/, void* data, size_t bytes, void* stream,
                                 void* writable_event) {
  const cudaStream_t consumer = static_cast<cudaStream_t>(stream);
  const cudaEvent_t writable = static_cast<cudaEvent_t>(writable_event);
  if (!aborted_.empty()) return Status::FailedPrecondition(aborted_);
  Link* link = LinkFrom(from);
  if (link == nullptr) return Status::InvalidArgument(fmt::format("NCCL transport: no link {} -> {}", from, stage_));
  if (writable != nullptr) CUDA_CHECK(cudaStreamWaitEvent(link->stream, writable, 0));
  NCCL_CHECK(ncclRecv(data, bytes, ncclUint8, link->peer, link->comm, link->stream));
  cudaEvent_t done;
  CUDA_CHECK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
  CUDA_CHECK(cudaEventRecord(done, link->stream));
  CUDA_CHECK(cudaStreamWaitEvent(consumer, done, 0));
  CUDA_CHECK(cudaEventDestroy(done));
  return Status::Ok();
}

void NcclTransport::Abort(const std::string& reason) {
  aborted_ = reason.empty() ? "NCCL transport aborted" : reason;
  // Releases this rank's pending NCCL operations; as MpiTransport, then ends the whole job so no
  // peer waits for a message that will never come.
  for (auto& [k, link] : links_)
    if (link.comm != nullptr) ncclCommAbort(link.comm), link.comm = nullptr;
  if (world_ != nullptr) ncclCommAbort(world_), world_ = nullptr;
  std::fprintf(stderr, "rank %u: aborting: %s\n", stage_, aborted_.c_str());
  MPI_Abort(MPI_COMM_WORLD, 3);
}

Status NcclTransport::Flush() {
  for (auto& [k, link] : links_)
    if (link.stream != nullptr && link.comm != nullptr) {
      const cudaError_t e = cudaStreamSynchronize(link.stream);
      if (e != cudaSuccess) return Status::Internal(fmt::format("NCCL flush: {}", cudaGetErrorString(e)));
    }
  Progress();
  return Status::Ok();
}

}  // namespace paci::exec
