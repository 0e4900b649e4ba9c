// The GEMM under the linear layers: C (M,N) = beta C + op(A) op(B), row-major fp32, beta 0 or 1.
// Built on Eigen's product (PACI_GEMM=eigen) or on OpenBLAS's sgemm with Eigen for small products
// (PACI_GEMM=openblas), chosen at build time and named by gemm_backend_name(). Both use the
// calling thread's exec_threads().
#pragma once

namespace paci::exec {

// op(A) is A (M,K) with row stride lda, or with trans_a the transpose of A stored (K,M); same for
// op(B) (K,N) / B stored (N,K). C has row stride ldc.
void gemm(bool trans_a, bool trans_b, int M, int N, int K, const float* A, int lda, const float* B, int ldb,
          float beta, float* C, int ldc);

// "eigen" or "openblas+eigen" ("openblas-serial+eigen" if the process loaded OpenBLAS's serial build).
const char* gemm_backend_name();

}  // namespace paci::exec
