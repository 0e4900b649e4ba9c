// See gemm.h. Eigen: one product expression; Eigen splits it across the calling thread's OpenMP
// team. OpenBLAS (GEMMs from kOpenBlasMinWork up; smaller ones stay on Eigen): OpenBLAS's own
// threads are set to one, once, for the whole process (its thread count is a process-wide
// setting that stage threads must not race on); instead each of the calling thread's OpenMP
// threads runs sgemm on its own block of C's rows. So several stage threads can call gemm at
// once, each using only its own threads (the pthread build locks its buffer pool), and the result
// for a given thread count never depends on timing.
#include "exec/model/gemm.h"

#include <algorithm>

#include "exec/model/eigen_maps.h"
#include "exec/model/threads.h"

#ifdef PACI_GEMM_OPENBLAS
#include <cblas.h>

#include <mutex>
extern "C" void openblas_set_num_threads(int n);
extern "C" int openblas_get_parallel();
#endif

namespace paci::exec {

namespace {

template <class OpA, class OpB>
void eigen_product(const OpA& a, const OpB& b, float beta, float* C, int M, int N, int ldc) {
  StridedMat c(C, M, N, Eigen::OuterStride<>(ldc));
  if (beta == 0.0f) c.noalias() = a * b;
  else c.noalias() += a * b;
}

void eigen_gemm(bool trans_a, bool trans_b, int M, int N, int K, const float* A, int lda, const float* B, int ldb,
                float beta, float* C, int ldc) {
  const ConstStridedMat a(A, trans_a ? K : M, trans_a ? M : K, Eigen::OuterStride<>(lda));
  const ConstStridedMat b(B, trans_b ? N : K, trans_b ? K : N, Eigen::OuterStride<>(ldb));
  if (!trans_a && !trans_b) eigen_product(a, b, beta, C, M, N, ldc);
  else if (!trans_a && trans_b) eigen_product(a, b.transpose(), beta, C, M, N, ldc);
  else if (trans_a && !trans_b) eigen_product(a.transpose(), b, beta, C, M, N, ldc);
  else eigen_product(a.transpose(), b.transpose(), beta, C, M, N, ldc);
}

#ifdef PACI_GEMM_OPENBLAS

// Rows of C per OpenMP thread are a multiple of this (OpenBLAS's micro-tile height on x86), so
// the blocks keep whole tiles.
constexpr int kRowQuantum = 16;
// Below this many multiply-adds one thread does it all: waking the team costs more.
constexpr double kSplitMinWork = 1 << 20;
// Below this many multiply-adds Eigen's product is faster than OpenBLAS's (its call and packing
// overhead): measured with train_step_bench on the 2 64 4 32 4 256 model, whose GEMMs (<= 2 M
// multiply-adds) ran 26 % slower per CPU-second on OpenBLAS; from 25 M up OpenBLAS was 1-7 % faster.
constexpr double kOpenBlasMinWork = 1 << 23;

void openblas_single_threaded_once() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

void openblas_gemm(bool trans_a, bool trans_b, int M, int N, int K, const float* A, int lda, const float* B,
                   int ldb, float beta, float* C, int ldc) {
  openblas_single_threaded_once();
  const CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans, tb = trans_b ? CblasTrans : CblasNoTrans;
  const int threads = static_cast<double>(M) * N * K >= kSplitMinWork ? exec_threads() : 1;
  const int quanta = (M + kRowQuantum - 1) / kRowQuantum;
  const int blocks = std::max(1, std::min(threads, quanta));
#pragma omp parallel for schedule(static) num_threads(blocks) if (blocks > 1)
  for (int b = 0; b < blocks; b++) {
    const int lo = std::min(M, kRowQuantum * static_cast<int>(static_cast<long>(quanta) * b / blocks));
    const int hi = std::min(M, kRowQuantum * static_cast<int>(static_cast<long>(quanta) * (b + 1) / blocks));
    if (hi <= lo) continue;
    // Row r of op(A) is row r of A, or column r of the stored (K,M) matrix.
    const float* a = trans_a ? A + lo : A + static_cast<long>(lo) * lda;
    cblas_sgemm(CblasRowMajor, ta, tb, hi - lo, N, K, 1.0f, a, lda, B, ldb, beta, C + static_cast<long>(lo) * ldc,
                ldc);
  }
}

#endif

}  // namespace

void gemm(bool trans_a, bool trans_b, int M, int N, int K, const float* A, int lda, const float* B, int ldb,
          float beta, float* C, int ldc) {
#ifdef PACI_GEMM_OPENBLAS
  if (static_cast<double>(M) * N * K >= kOpenBlasMinWork)
    return openblas_gemm(trans_a, trans_b, M, N, K, A, lda, B, ldb, beta, C, ldc);
#endif
  eigen_gemm(trans_a, trans_b, M, N, K, A, lda, B, ldb, beta, C, ldc);
}

const char* gemm_backend_name() {
#ifdef PACI_GEMM_OPENBLAS
  return openblas_get_parallel() == 0 ? "openblas-serial+eigen" : "openblas+eigen";
#else
  return "eigen";
#endif
}

}  // namespace paci::exec
