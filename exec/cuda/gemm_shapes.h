// The cuBLAS argument lists of every GEMM the executor issues, as data: transposes, sizes, leading
// dimensions, batch strides and scalars. matmul.cu and attention.cu issue exactly these; being
// host-only, tests/cuda/gemm_shapes_test.cc replays them with a plain column-major GEMM on the CPU
// against exec/model/layers.h, so the row-major-to-column-major mapping is checked without a GPU.
// cuBLAS is column-major: a row-major (R,K) tensor is read as a column-major (K,R) one.
#pragma once

namespace paci::exec {

// Column-major C (m,n) = alpha op(A) op(B) + beta C, `batch` times with strides sa, sb, sc.
struct GemmCall {
  bool ta = false, tb = false;  // op(A) = A^T, op(B) = B^T
  int m = 0, n = 0, k = 0;
  int lda = 0, ldb = 0, ldc = 0;
  long sa = 0, sb = 0, sc = 0;
  int batch = 1;
  float alpha = 1.0f, beta = 0.0f;
};

// Linear layer, w stored [OC, C]. A = w, B = inp (N,C), C = out (N,OC).
inline GemmCall matmul_forward_gemm(int N, int C, int OC) {
  return {true, false, OC, N, C, C, C, OC};
}
// A = w, B = dout (N,OC), C = dinp (N,C); beta 1 accumulates.
inline GemmCall matmul_backward_input_gemm(int N, int C, int OC, bool accumulate) {
  GemmCall g{false, false, C, N, OC, C, OC, C};
  g.beta = accumulate ? 1.0f : 0.0f;
  return g;
}
// A = inp (N,C), B = dout (N,OC), C = dw (OC,C), accumulated.
inline GemmCall matmul_backward_weight_gemm(int N, int C, int OC) {
  GemmCall g{false, true, C, OC, N, C, OC, C};
  g.beta = 1.0f;
  return g;
}

// Attention, one batch entry per (b, h); q, k, v, y, dy, dq, dk, dv head-major (B,NH,T,hs) and att,
// datt (B,NH,T,T) row-major per entry.
inline GemmCall attention_gemm(bool ta, bool tb, int m, int n, int k, int lda, int ldb, int ldc, int B, int NH,
                               int T, int hs, float alpha, bool a_is_tt, bool b_is_tt, bool c_is_tt) {
  const long th = static_cast<long>(T) * hs, tt = static_cast<long>(T) * T;
  GemmCall g{ta, tb, m, n, k, lda, ldb, ldc};
  g.sa = a_is_tt ? tt : th;
  g.sb = b_is_tt ? tt : th;
  g.sc = c_is_tt ? tt : th;
  g.batch = B * NH;
  g.alpha = alpha;
  return g;
}
// scores[i][j] = scale * q_i . k_j: A = k, B = q, C = att.
inline GemmCall attention_scores_gemm(int B, int NH, int T, int hs, float scale) {
  return attention_gemm(true, false, T, T, hs, hs, hs, T, B, NH, T, hs, scale, false, false, true);
}
// y_i = sum_j att[i][j] v_j: A = v, B = att, C = y.
inline GemmCall attention_values_gemm(int B, int NH, int T, int hs) {
  return attention_gemm(false, false, hs, T, T, hs, T, hs, B, NH, T, hs, 1.0f, false, true, false);
}
// datt[i][j] = dy_i . v_j: A = v, B = dy, C = datt.
inline GemmCall attention_datt_gemm(int B, int NH, int T, int hs) {
  return attention_gemm(true, false, T, T, hs, hs, hs, T, B, NH, T, hs, 1.0f, false, false, true);
}
// dv_j = sum_i att[i][j] dy_i: A = dy, B = att, C = dv.
inline GemmCall attention_dv_gemm(int B, int NH, int T, int hs) {
  return attention_gemm(false, true, hs, T, T, hs, T, hs, B, NH, T, hs, 1.0f, false, true, false);
}
// dq_i = sum_j ds[i][j] k_j: A = k, B = ds, C = dq.
inline GemmCall attention_dq_gemm(int B, int NH, int T, int hs) {
  return attention_gemm(false, false, hs, T, T, hs, T, hs, B, NH, T, hs, 1.0f, false, true, false);
}
// dk_j = sum_i ds[i][j] q_i: A = q, B = ds, C = dk.
inline GemmCall attention_dk_gemm(int B, int NH, int T, int hs) {
  return attention_gemm(false, true, hs, T, T, hs, T, hs, B, NH, T, hs, 1.0f, false, true, false);
}

}  // namespace paci::exec
