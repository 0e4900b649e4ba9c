// MpiTransport: one rank per stage, MPI point-to-point. Sends are non-blocking (MPI_Isend with
// the buffer kept until completion) so two neighbours sending to each other never deadlock;
// receives poll MPI_Iprobe from the peer and park messages for other keys in a local mailbox.
// Each message carries its MessageKey in a small header. Built only when MPI is found.
#pragma once

#include <cstdint>
#include <memory>
#include <tuple>
#include <vector>

#include "exec/runtime/rank_group.h"
#include "exec/runtime/transport.h"

namespace paci::exec {

// Owns MPI_Init/MPI_Finalize for the process. Construct once in main, before any MpiTransport.
class MpiSession : public RankGroup {
 public:
  MpiSession(int* argc, char*** argv);
  ~MpiSession() override;
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  // From the launcher: OMPI_COMM_WORLD_LOCAL_RANK (mpirun), MPI_LOCALRANKID (MPICH), SLURM_LOCALID
  // (srun), else MPI's shared-memory split. The stage is the world rank.
  int local_rank() const override { return local_rank_; }
  // The variable's name, or "MPI_COMM_TYPE_SHARED".
  const char* local_rank_source() const override { return local_rank_source_; }
  [[noreturn]] void AbortJob(int code) override;
  int64_t Broadcast(int64_t value, int root) const override;
  void Barrier() const override;

 private:
  int rank_ = 0;
  int size_ = 1;
  int local_rank_ = 0;
  const char* local_rank_source_ = "";
};

class MpiTransport : public Transport {
 public:
  explicit MpiTransport(const MpiSession& session);
  ~MpiTransport() override;
  uint32_t stage() const override { return stage_; }
  uint32_t stages() const override { return stages_; }
  Status Send(uint32_t to_stage, const MessageKey& key, std::span<const float> data) override;
  Status Recv(uint32_t from_stage, const MessageKey& key, std::vector<float>* out,
              std::chrono::milliseconds timeout) override;
  void Abort(const std::string& reason) override;
  Status Flush() override;

 private:
  using Key = std::pair<uint32_t, MessageKey>;  // (from stage, message)
  struct PendingSend;
  void Progress();              // completes finished sends
  bool PollOne(uint32_t from);  // receives one message from `from` into the mailbox if any

  // A received message, or (full = false) an idle buffer kept for the next one.
  struct Message {
    Key key;
    bool full = false;
    std::vector<float> data;
  };
  Message* Find(const Key& key);

  uint32_t stage_, stages_;
  // Sends in flight, and finished ones kept with their buffers for the next sends; the wire buffer
  // of a receive and the mailbox's buffers are reused too, so a steady state allocates nothing.
  std::vector<std::unique_ptr<PendingSend>> pending_, idle_sends_;
  std::vector<char> wire_;
  std::vector<Message> mailbox_;
};

}  // namespace paci::exec
