// See threads.h.
#include "exec/model/threads.h"

#include <omp.h>

#ifdef PACI_EIGEN_BLAS
extern "C" void openblas_set_num_threads(int n);
#endif

namespace paci::exec {

void exec_set_threads(int n) {
  if (n <= 0) return;
  // Eigen::setNbThreads would write one process-wide static from every stage thread (a data
  // race); left unset, Eigen's GEMMs read omp_get_max_threads(), which is per thread.
  omp_set_num_threads(n);
#ifdef PACI_EIGEN_BLAS
  openblas_set_num_threads(n);
#endif
}

int exec_threads() { return omp_get_max_threads(); }

const char* exec_gemm_backend() {
#ifdef PACI_EIGEN_BLAS
  return "eigen+openblas";
#else
  return "eigen";
#endif
}

}  // namespace paci::exec
