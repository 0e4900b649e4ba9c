// See threads.h.
#include "exec/model/threads.h"

#include <omp.h>

#include "exec/model/gemm.h"

namespace paci::exec {

void exec_set_threads(int n) {
  if (n <= 0) return;
  // Eigen::setNbThreads would write one process-wide static from every stage thread (a data
  // race); left unset, Eigen's GEMMs read omp_get_max_threads(), which is per thread. The OpenBLAS
  // GEMM (gemm.cc) splits its work over the same per-thread OpenMP count.
  omp_set_num_threads(n);
}

int exec_threads() { return omp_get_max_threads(); }

const char* exec_gemm_backend() { return gemm_backend_name(); }

}  // namespace paci::exec
