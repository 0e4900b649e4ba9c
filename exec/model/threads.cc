// See threads.h.
#include "exec/model/threads.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#include <algorithm>
#include <string>

#include "exec/model/gemm.h"

namespace paci::exec {

// Without OpenMP (PACI_OPENMP=OFF) every kernel runs on the calling thread: one thread, whatever is asked.
void exec_set_threads(int n) {
  if (n <= 0) return;
#ifdef _OPENMP
  // Eigen::setNbThreads would write one process-wide static from every stage thread (a data
  // race); left unset, Eigen's GEMMs read omp_get_max_threads(), which is per thread. The OpenBLAS
  // GEMM (gemm.cc) splits its work over the same per-thread OpenMP count.
  omp_set_num_threads(n);
#endif
}

int exec_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

bool exec_openmp() {
#ifdef _OPENMP
  return true;
#else
  return false;
#endif
}

const char* exec_gemm_backend() { return gemm_backend_name(); }

ThreadBudget plan_thread_budget(int cores, int stages, int requested) {
  ThreadBudget b;
  b.cores = std::max(1, cores);
  b.stages = std::max(1, stages);
  b.requested = requested > 0;
  b.threads_per_stage = b.requested ? requested : std::max(1, b.cores / b.stages);
  if (!exec_openmp()) b.threads_per_stage = 1;  // callers refuse --threads > 1 in such a build
  return b;
}

std::string ThreadBudget::describe() const {
  const std::string per = std::to_string(threads_per_stage) + " kernel thread" + (threads_per_stage == 1 ? "" : "s");
  std::string s = std::to_string(stages) + (stages == 1 ? " stage" : " stages") + " on " + std::to_string(cores) +
                  " cores: " + per + (stages == 1 ? "" : " per stage") + (requested ? " (--threads)" : "");
  if (threads_per_stage > 1) s += ", each GEMM and row loop split over them";
  if (oversubscribed())
    s += "; oversubscribed: " + std::to_string(stages * threads_per_stage) + " threads on " + std::to_string(cores) +
         " cores" + (requested ? "" : " (more stages than cores)");
  return s;
}

}  // namespace paci::exec
