// RankGroup: the processes one launcher (mpirun, srun) started for a pipelined run, one stage
// each, and the few collectives the run needs around its transport (the store's run id from rank 0,
// lining up the clocks, ending every rank). Always declared, so callers need no #ifdef:
// transport_factory.h joins the group, or says which CMake option builds it. MPI implements it
// (MpiSession, mpi_transport.h).
#pragma once

#include <cstdint>

namespace paci::exec {

class RankGroup {
 public:
  virtual ~RankGroup() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // This rank's index among the ranks on its node; a GPU rank uses GPU local_rank() % devices.
  virtual int local_rank() const = 0;
  // Where local_rank() came from (a launcher variable's name), for the log.
  virtual const char* local_rank_source() const = 0;
  // Ends every rank of the job with `code` (after this rank printed its error).
  [[noreturn]] virtual void AbortJob(int code) = 0;
  // Rank `root`'s value on every rank (e.g. the store's run id, created once by rank 0).
  virtual int64_t Broadcast(int64_t value, int root) const = 0;
  // Every rank waits here for every other.
  virtual void Barrier() const = 0;
};

}  // namespace paci::exec
