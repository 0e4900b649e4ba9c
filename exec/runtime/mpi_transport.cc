#include "exec/runtime/mpi_transport.h"

#include <cstdlib>

// The C API is all we use; skipping the deprecated C++ bindings keeps -Wextra quiet.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <cstring>
#include <thread>

#include <fmt/format.h>

namespace paci::exec {
namespace {

// Fixed-size header in front of every payload.
struct WireHeader {
  uint64_t micro_batch;
  uint32_t from_virtual;
  uint32_t to_virtual;
  uint32_t is_grad;
  uint32_t abort;  // 1: the sender aborted; payload is the reason text
};

constexpr int kTag = 7;

}  // namespace

MpiSession::MpiSession(int* argc, char*** argv) {
  MPI_Init(argc, argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  // The launcher's node-local rank: Open MPI's mpirun, then MPICH's (Hydra), then Slurm's srun.
  // mpirun's comes first: inside a Slurm allocation, SLURM_LOCALID may describe mpirun's daemon.
  // Without any, MPI's shared-memory split gives the same numbering (ranks of this node in order).
  local_rank_ = -1;
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0') {
      local_rank_ = std::atoi(value);
      local_rank_source_ = name;
      break;
    }
  }
  if (local_rank_ < 0) {
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local);
    MPI_Comm_rank(local, &local_rank_);
    MPI_Comm_free(&local);
    local_rank_source_ = "MPI_COMM_TYPE_SHARED";
  }
}

MpiSession::~MpiSession() { MPI_Finalize(); }

void MpiSession::AbortJob(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::abort();  // MPI_Abort does not return; this keeps [[noreturn]] honest
}

int64_t MpiSession::Broadcast(int64_t value, int root) const {
  MPI_Bcast(&value, 1, MPI_INT64_T, root, MPI_COMM_WORLD);
  return value;
}

void MpiSession::Barrier() const { MPI_Barrier(MPI_COMM_WORLD); }

struct MpiTransport::PendingSend {
  std::vector<char> buffer;
  MPI_Request request = MPI_REQUEST_NULL;
};

MpiTransport::MpiTransport(const MpiSession& session)
    : stage_(static_cast<uint32_t>(session.rank())), stages_(static_cast<uint32_t>(session.size())) {}

MpiTransport::~MpiTransport() { (void)Flush(); }

Status MpiTransport::Send(uint32_t to, const MessageKey& key, std::span<const float> data) {
  if (to >= stages_) return Status::InvalidArgument(fmt::format("send to rank {}", to));
  std::unique_ptr<PendingSend> send;
  if (idle_sends_.empty()) {
    send = std::make_unique<PendingSend>();
  } else {
    send = std::move(idle_sends_.back());
    idle_sends_.pop_back();
  }
  WireHeader h{key.micro_batch, key.from_virtual, key.to_virtual, key.is_grad ? 1u : 0u, 0u};
  send->buffer.resize(sizeof h + data.size_bytes());  // within the capacity of its last use
  std::memcpy(send->buffer.data(), &h, sizeof h);
  if (!data.empty()) std::memcpy(send->buffer.data() + sizeof h, data.data(), data.size_bytes());
  MPI_Isend(send->buffer.data(), static_cast<int>(send->buffer.size()), MPI_BYTE,
            static_cast<int>(to), kTag, MPI_COMM_WORLD, &send->request);
  pending_.push_back(std::move(send));
  Progress();
  return Status::Ok();
}

void MpiTransport::Progress() {
  for (size_t i = 0; i < pending_.size();) {
    int done = 0;
    MPI_Test(&pending_[i]->request, &done, MPI_STATUS_IGNORE);
    if (!done) {
      ++i;
      continue;
    }
    idle_sends_.push_back(std::move(pending_[i]));
    pending_[i] = std::move(pending_.back());  // order does not matter: each send is tested
    pending_.pop_back();
  }
}

MpiTransport::Message* MpiTransport::Find(const Key& key) {
  for (Message& m : mailbox_)
    if (m.full && m.key == key) return &m;
  return nullptr;
}

bool MpiTransport::PollOne(uint32_t from) {
  int flag = 0;
  MPI_Status status;
  MPI_Iprobe(static_cast<int>(from), kTag, MPI_COMM_WORLD, &flag, &status);
  if (!flag) return false;
  int bytes = 0;
  MPI_Get_count(&status, MPI_BYTE, &bytes);
  wire_.resize(static_cast<size_t>(bytes));
  MPI_Recv(wire_.data(), bytes, MPI_BYTE, static_cast<int>(from), kTag, MPI_COMM_WORLD,
           MPI_STATUS_IGNORE);
  WireHeader h;
  std::memcpy(&h, wire_.data(), sizeof h);
  // An aborting peer's reason travels as bytes; keep it under a key no real message uses.
  const Key key = h.abort ? Key{from, MessageKey{true, UINT64_MAX, 0, 0}}
                          : Key{from, MessageKey{h.is_grad != 0, h.micro_batch, h.from_virtual, h.to_virtual}};
  Message* m = Find(key);  // the same message twice replaces the first, as a map would
  for (size_t i = 0; m == nullptr && i < mailbox_.size(); ++i)
    if (!mailbox_[i].full) m = &mailbox_[i];
  if (m == nullptr) m = &mailbox_.emplace_back();
  m->key = key;
  m->full = true;
  m->data.resize((wire_.size() - sizeof h) / sizeof(float));  // within an idle buffer's capacity
  if (!m->data.empty()) std::memcpy(m->data.data(), wire_.data() + sizeof h, m->data.size() * sizeof(float));
  return true;
}

Status MpiTransport::Recv(uint32_t from, const MessageKey& key, std::vector<float>* out,
                          std::chrono::milliseconds timeout) {
  const Key k{from, key};
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (Message* m = Find(k)) {
      out->swap(m->data);  // the caller's old buffer stays here, idle, for a later message
      m->data.clear();
      m->full = false;
      return Status::Ok();
    }
    for (uint32_t s = 0; s < stages_; ++s) {
      if (Find(Key{s, MessageKey{true, UINT64_MAX, 0, 0}}))
        return Status::FailedPrecondition(fmt::format("pipeline aborted by rank {}", s));
    }
    Progress();
    if (PollOne(from)) continue;
    if (std::chrono::steady_clock::now() > deadline) {
      return Status::DeadlineExceeded(
          fmt::format("rank {} waited {} ms for the {}; the peer is dead or stuck", stage_,
                      timeout.count(), DescribeMessage(key, stages_)));
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

void MpiTransport::Abort(const std::string& /*reason*/) {
  // Peers blocked in Recv would only notice at their deadline; end the job now instead.
  MPI_Abort(MPI_COMM_WORLD, 3);
}

Status MpiTransport::Flush() {
  for (auto& send : pending_) MPI_Wait(&send->request, MPI_STATUS_IGNORE);
  for (auto& send : pending_) idle_sends_.push_back(std::move(send));
  pending_.clear();
  return Status::Ok();
}

}  // namespace paci::exec
