// The GEMM argument lists the GPU executor hands cuBLAS (exec/cuda/gemm_shapes.h), replayed with a
// plain column-major GEMM on the CPU and compared with the CPU model (exec/layers.h): checks the
// transposes, leading dimensions and batch strides of matmul.cu and attention.cu without a GPU.
// The head permutes and the causal softmax are written out here from attention.cu's layouts.
// Runs everywhere (no GPU needed); tolerance 1e-5 + 1e-5*|ref| (fp32, summation order differs).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "exec/cuda/gemm_shapes.h"
#include "exec/model/layers.h"
#include "tests/cuda/cuda_test_util.h"

namespace paci::exec {
namespace {

using testing::expect_close;
using testing::randn;

constexpr testing::Tolerance kTol{1e-5, 1e-5};

// cuBLAS semantics: column-major, element (r, c) of X with leading dimension ld is X[r + c * ld].
void cm_gemm(const GemmCall& g, const float* A, const float* B, float* C) {
  for (int b = 0; b < g.batch; b++) {
    const float* a = A + b * g.sa;
    const float* bb = B + b * g.sb;
    float* c = C + b * g.sc;
    for (int i = 0; i < g.m; i++)
      for (int j = 0; j < g.n; j++) {
        double s = 0;
        for (int p = 0; p < g.k; p++) {
          const float av = g.ta ? a[p + static_cast<long>(i) * g.lda] : a[i + static_cast<long>(p) * g.lda];
          const float bv = g.tb ? bb[j + static_cast<long>(p) * g.ldb] : bb[p + static_cast<long>(j) * g.ldb];
          s += static_cast<double>(av) * bv;
        }
        float& out = c[i + static_cast<long>(j) * g.ldc];
        out = static_cast<float>(g.alpha * s + (g.beta != 0.0f ? g.beta * out : 0.0f));
      }
  }
}

TEST(GemmShapes, LinearLayerMatchesCpuReference) {
  const int N = 12, C = 8, OC = 20;
  const std::vector<float> x = randn(N * C, 1), w = randn(OC * C, 2), dy = randn(N * OC, 3);
  std::vector<float> ref(N * OC), got(N * OC, 7.0f);  // beta 0 must ignore the old contents
  matmul_forward(ref.data(), x.data(), w.data(), nullptr, N, C, OC);
  cm_gemm(matmul_forward_gemm(N, C, OC), w.data(), x.data(), got.data());
  expect_close("matmul_forward_gemm", got, ref, kTol);

  std::vector<float> dref = randn(N * C, 4), dgot = dref;
  matmul_backward_input(dref.data(), dy.data(), w.data(), N, C, OC);
  cm_gemm(matmul_backward_input_gemm(N, C, OC, true), w.data(), dy.data(), dgot.data());
  expect_close("matmul_backward_input_gemm (accumulate)", dgot, dref, kTol);

  std::vector<float> wref = randn(OC * C, 5), wgot = wref;
  matmul_backward_weight(wref.data(), nullptr, dy.data(), x.data(), N, C, OC);
  cm_gemm(matmul_backward_weight_gemm(N, C, OC), x.data(), dy.data(), wgot.data());
  expect_close("matmul_backward_weight_gemm", wgot, wref, kTol);
}

TEST(GemmShapes, AttentionMatchesCpuReference) {
  const int B = 2, T = 6, NH = 3, hs = 4, C = NH * hs;
  const long nc = static_cast<long>(B) * T * C;
  const std::vector<float> qkv = randn(nc * 3, 10), dout = randn(nc, 11);
  std::vector<float> out_ref(nc), att_ref(static_cast<size_t>(B) * NH * T * T), dqkv_ref(nc * 3);
  attention_forward(out_ref.data(), att_ref.data(), qkv.data(), B, T, C, NH);
  attention_backward(dqkv_ref.data(), dout.data(), qkv.data(), att_ref.data(), B, T, C, NH);

  // Head-major index of (b, h, t, d), and the row-major (B,T,stride) index the permutes use.
  auto hm = [&](int b, int h, int t, int d) { return ((static_cast<long>(b) * NH + h) * T + t) * hs + d; };
  auto rm = [&](int b, int t, int h, int d, int stride) { return (static_cast<long>(b) * T + t) * stride + h * hs + d; };
  std::vector<float> q(nc), k(nc), v(nc), dy(nc);
  for (int b = 0; b < B; b++)
    for (int h = 0; h < NH; h++)
      for (int t = 0; t < T; t++)
        for (int d = 0; d < hs; d++) {
          q[hm(b, h, t, d)] = qkv[rm(b, t, h, d, 3 * C)];
          k[hm(b, h, t, d)] = qkv[rm(b, t, h, d, 3 * C) + C];
          v[hm(b, h, t, d)] = qkv[rm(b, t, h, d, 3 * C) + 2 * C];
          dy[hm(b, h, t, d)] = dout[rm(b, t, h, d, C)];
        }
  const float scale = 1.0f / std::sqrt(static_cast<float>(hs));
  std::vector<float> att(att_ref.size());
  cm_gemm(attention_scores_gemm(B, NH, T, hs, scale), k.data(), q.data(), att.data());
  for (long row = 0; row < static_cast<long>(B) * NH * T; row++) {  // causal_softmax_kernel
    float* r = att.data() + row * T;
    const int t = static_cast<int>(row % T);
    float mx = -INFINITY, sum = 0;
    for (int j = 0; j <= t; j++) mx = std::max(mx, r[j]);
    for (int j = 0; j <= t; j++) sum += std::exp(r[j] - mx);
    for (int j = 0; j < T; j++) r[j] = j <= t ? std::exp(r[j] - mx) / sum : 0.0f;
  }
  expect_close("attention_scores_gemm + softmax", att, att_ref, kTol);
  std::vector<float> y(nc), out(nc);
  cm_gemm(attention_values_gemm(B, NH, T, hs), v.data(), att.data(), y.data());
  for (int b = 0; b < B; b++)
    for (int h = 0; h < NH; h++)
      for (int t = 0; t < T; t++)
        for (int d = 0; d < hs; d++) out[rm(b, t, h, d, C)] = y[hm(b, h, t, d)];
  expect_close("attention_values_gemm", out, out_ref, kTol);

  std::vector<float> datt(att.size()), dq(nc), dk(nc), dv(nc), dqkv(nc * 3);
  cm_gemm(attention_datt_gemm(B, NH, T, hs), v.data(), dy.data(), datt.data());
  cm_gemm(attention_dv_gemm(B, NH, T, hs), dy.data(), att.data(), dv.data());
  for (long row = 0; row < static_cast<long>(B) * NH * T; row++) {  // causal_softmax_backward_kernel
    float* d = datt.data() + row * T;
    const float* a = att.data() + row * T;
    const int t = static_cast<int>(row % T);
    float dot = 0;
    for (int j = 0; j <= t; j++) dot += a[j] * d[j];
    for (int j = 0; j < T; j++) d[j] = j <= t ? a[j] * (d[j] - dot) * scale : 0.0f;
  }
  cm_gemm(attention_dq_gemm(B, NH, T, hs), k.data(), datt.data(), dq.data());
  cm_gemm(attention_dk_gemm(B, NH, T, hs), q.data(), datt.data(), dk.data());
  for (int b = 0; b < B; b++)
    for (int h = 0; h < NH; h++)
      for (int t = 0; t < T; t++)
        for (int d = 0; d < hs; d++) {
          dqkv[rm(b, t, h, d, 3 * C)] = dq[hm(b, h, t, d)];
          dqkv[rm(b, t, h, d, 3 * C) + C] = dk[hm(b, h, t, d)];
          dqkv[rm(b, t, h, d, 3 * C) + 2 * C] = dv[hm(b, h, t, d)];
        }
  expect_close("attention backward gemms (dq, dk, dv)", dqkv, dqkv_ref, kTol);
}

}  // namespace
}  // namespace paci::exec
