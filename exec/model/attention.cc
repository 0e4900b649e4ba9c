// Causal multi-head self-attention, one (batch, head) pair per OpenMP iteration; each pair does its
// three small GEMMs with Eigen (single-threaded inside the parallel region).
#include <cmath>

#include "exec/model/eigen_maps.h"
#include "exec/model/kernel_clock.h"
#include "exec/model/layers.h"

namespace paci::exec {

namespace {

// Rows of a causal softmax: row t keeps columns 0..t, the rest become exactly zero.
void causal_softmax_rows(MapMat& a, int T) {
  for (int t = 0; t < T; t++) {
    float* r = a.data() + static_cast<long>(t) * T;
    float mx = r[0];
    for (int j = 1; j <= t; j++) mx = r[j] > mx ? r[j] : mx;
    float sum = 0.0f;
    for (int j = 0; j <= t; j++) {
      r[j] = std::exp(r[j] - mx);
      sum += r[j];
    }
    const float inv = 1.0f / sum;
    for (int j = 0; j <= t; j++) r[j] *= inv;
    for (int j = t + 1; j < T; j++) r[j] = 0.0f;
  }
}

}  // namespace

void attention_forward(float* out, float* att, const float* qkv, int B, int T, int C, int NH) {
  KernelTimer timer(KernelOp::kAttentionForward, 4.0 * B * T * T * C);  // QK^T, PV
  const int hs = C / NH;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hs));
  const Eigen::OuterStride<> s3(3 * C), s1(C);
#pragma omp parallel for schedule(static) if (static_cast<long>(B) * NH * T * T * hs >= (1 << 15))
  for (int bh = 0; bh < B * NH; bh++) {
    const int b = bh / NH, h = bh % NH;
    const float* base = qkv + static_cast<long>(b) * T * 3 * C + h * hs;
    ConstStridedMat q(base, T, hs, s3), k(base + C, T, hs, s3), v(base + 2 * C, T, hs, s3);
    MapMat a(att + static_cast<long>(bh) * T * T, T, T);
    a.noalias() = (q * scale) * k.transpose();
    causal_softmax_rows(a, T);
    StridedMat y(out + static_cast<long>(b) * T * C + h * hs, T, hs, s1);
    y.noalias() = a * v;
  }
}

void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* att, int B, int T,
                        int C, int NH) {
  KernelTimer timer(KernelOp::kAttentionBackward, 8.0 * B * T * T * C);  // dP, dV, dQ, dK
  const int hs = C / NH;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hs));
  const Eigen::OuterStride<> s3(3 * C), s1(C);
#pragma omp parallel for schedule(static) if (static_cast<long>(B) * NH * T * T * hs >= (1 << 15))
  for (int bh = 0; bh < B * NH; bh++) {
    const int b = bh / NH, h = bh % NH;
    const long off3 = static_cast<long>(b) * T * 3 * C + h * hs;
    ConstStridedMat q(qkv + off3, T, hs, s3), k(qkv + off3 + C, T, hs, s3), v(qkv + off3 + 2 * C, T, hs, s3);
    StridedMat dq(dqkv + off3, T, hs, s3), dk(dqkv + off3 + C, T, hs, s3), dv(dqkv + off3 + 2 * C, T, hs, s3);
    ConstMapMat a(att + static_cast<long>(bh) * T * T, T, T);
    ConstStridedMat dy(dout + static_cast<long>(b) * T * C + h * hs, T, hs, s1);
    // d(probs), then d(scores) in place: on this thread's stack up to kStackScores floats, so a
    // backward allocates nothing per head (issue 24); a longer sequence uses the heap.
    constexpr long kStackScores = 128 * 128;
    alignas(64) float stack_ds[kStackScores];
    RowMat heap_ds;
    float* ds_data = stack_ds;
    if (static_cast<long>(T) * T > kStackScores) {
      heap_ds.resize(T, T);
      ds_data = heap_ds.data();
    }
    MapMat ds(ds_data, T, T);
    ds.noalias() = dy * v.transpose();
    dv.noalias() = a.transpose() * dy;
    for (int t = 0; t < T; t++) {
      float dot = 0.0f;
      for (int j = 0; j <= t; j++) dot += a(t, j) * ds(t, j);
      for (int j = 0; j <= t; j++) ds(t, j) = a(t, j) * (ds(t, j) - dot) * scale;
      for (int j = t + 1; j < T; j++) ds(t, j) = 0.0f;
    }
    dq.noalias() = ds * k;
    dk.noalias() = ds.transpose() * q;
  }
}

}  // namespace paci::exec
