// Thread count for the exec kernels: OpenMP loops and the GEMMs (Eigen or OpenBLAS, gemm.h), both
// split over the calling thread's OpenMP team. Set per calling thread; results are
// deterministic for a fixed count. A build with PACI_OPENMP=OFF has one kernel thread per caller.
#pragma once

#include <string>

namespace paci::exec {

void exec_set_threads(int n);  // n <= 0: leave the library defaults
int exec_threads();
bool exec_openmp();  // false in a PACI_OPENMP=OFF build: one kernel thread, whatever is asked
const char* exec_gemm_backend();  // gemm_backend_name(): "eigen", "openblas-pthread", ...


// Kernel threads per stage when `stages` stage threads (or ranks) share a machine of `cores`
// cores: `requested` if > 0 (--threads), else an equal share of the cores, at least one. A stage
// that has the whole machine (stages == 1) gets every core and splits each GEMM and row loop over
// them; P stages on C cores get C / P each, so P x threads never exceeds C unless P > C or the
// user asked for more.
struct ThreadBudget {
  int cores = 1;
  int stages = 1;
  int threads_per_stage = 1;
  bool requested = false;  // from --threads rather than decided here
  bool oversubscribed() const { return stages * threads_per_stage > cores; }
  std::string describe() const;  // one line for the run's log
};
ThreadBudget plan_thread_budget(int cores, int stages, int requested);

}  // namespace paci::exec
