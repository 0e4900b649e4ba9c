// Thread count for the exec kernels: OpenMP loops and the GEMMs (Eigen or OpenBLAS, gemm.h), both
// split over the calling thread's OpenMP team. Set per calling thread; results are
// deterministic for a fixed count.
#pragma once

namespace paci::exec {

void exec_set_threads(int n);  // n <= 0: leave the library defaults
int exec_threads();
const char* exec_gemm_backend();  // gemm_backend_name(): "eigen", "openblas-pthread", ...

}  // namespace paci::exec
