// Thread count for the exec kernels: OpenMP loops, Eigen's GEMMs and (with PACI_EIGEN_BLAS)
// OpenBLAS. Set per calling thread (OpenBLAS's own count is process-wide); results are
// deterministic for a fixed count.
#pragma once

namespace paci::exec {

void exec_set_threads(int n);  // n <= 0: leave the library defaults
int exec_threads();
const char* exec_gemm_backend();  // "eigen" or "eigen+openblas", for logs and benchmarks

}  // namespace paci::exec
