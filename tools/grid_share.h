// Which share of a `paci study` grid this process trains when a launcher started several copies
// of the same command (mpirun, srun): copy r of n trains the grid points whose index i has
// i % n == r, so the copies never train the same point and need not talk to each other; they
// record into one store, as concurrent `paci train` processes already do.
#pragma once

#include <functional>
#include <string>

#include "proto/status.h"

namespace paci::cli {

struct GridShare {
  int rank = 0;         // this copy
  int ranks = 1;        // copies in all; 1 when no launcher started this process
  int local_ranks = 1;  // copies on this machine, when the launcher says (to share its cores)
  std::string source;   // the variables that said so, e.g. "OMPI_COMM_WORLD_RANK/SIZE"; empty for 1
  bool Owns(size_t point) const { return static_cast<int>(point % static_cast<size_t>(ranks)) == rank; }
};

// Reads the launcher's variables through `getenv` (std::getenv in the tool; a map in tests):
// Open MPI (OMPI_COMM_WORLD_RANK, _SIZE, _LOCAL_SIZE), MPICH and Intel MPI (PMI_RANK, PMI_SIZE,
// MPI_LOCALNRANKS), Slurm's srun (SLURM_PROCID, SLURM_STEP_NUM_TASKS, SLURM_STEP_TASKS_PER_NODE).
// Slurm's batch script alone also sets SLURM_PROCID and SLURM_NTASKS, but only srun sets the
// step's task count, so a study started straight from a batch script trains its whole grid.
// A malformed value is an error naming the variable.
Result<GridShare> ReadGridShare(const std::function<const char*(const char*)>& getenv);

}  // namespace paci::cli
