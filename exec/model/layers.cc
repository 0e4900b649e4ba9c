// Row-wise kernels and the linear layer. See layers.h for the contract.
#include "exec/model/layers.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "exec/model/eigen_maps.h"
#include "exec/model/gemm.h"
#include "exec/model/kernel_clock.h"

namespace paci::exec {

namespace {
// Below this many elements a loop runs on the calling thread: waking the OpenMP team costs more
// than the work (tiny test models, busy machines).
constexpr long kOmpMinWork = 1 << 15;
}  // namespace

void encoder_forward(float* out, const int* inp, const float* wte, const float* wpe, int B, int T, int C) {
  KernelTimer timer(KernelOp::kEmbedding, 0);
#pragma omp parallel for schedule(static) if (static_cast<long>(B * T * C) >= kOmpMinWork)
  for (int bt = 0; bt < B * T; bt++) {
    const float* e = wte + static_cast<long>(inp[bt]) * C;
    const float* p = wpe + static_cast<long>(bt % T) * C;
    float* o = out + static_cast<long>(bt) * C;
    for (int c = 0; c < C; c++) o[c] = e[c] + p[c];
  }
}

void encoder_backward_weight(float* dwte, float* dwpe, const float* dout, const int* inp, int B, int T,
                             int C) {
  KernelTimer timer(KernelOp::kEmbedding, 0);
  // Serial: two positions may hold the same token, and a fixed order keeps the sums reproducible.
  for (int bt = 0; bt < B * T; bt++) {
    const float* d = dout + static_cast<long>(bt) * C;
    float* e = dwte + static_cast<long>(inp[bt]) * C;
    float* p = dwpe + static_cast<long>(bt % T) * C;
    for (int c = 0; c < C; c++) {
      e[c] += d[c];
      p[c] += d[c];
    }
  }
}

void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* w,
                       const float* b, int N, int C) {
  KernelTimer timer(KernelOp::kLayerNorm, 0);
  const float eps = 1e-5f;
#pragma omp parallel for schedule(static) if (static_cast<long>(N * C) >= kOmpMinWork)
  for (int n = 0; n < N; n++) {
    const float* x = inp + static_cast<long>(n) * C;
    float m = 0.0f;
    for (int c = 0; c < C; c++) m += x[c];
    m /= C;
    float v = 0.0f;
    for (int c = 0; c < C; c++) v += (x[c] - m) * (x[c] - m);
    v /= C;
    const float s = 1.0f / std::sqrt(v + eps);
    float* o = out + static_cast<long>(n) * C;
    for (int c = 0; c < C; c++) o[c] = (x[c] - m) * s * w[c] + b[c];
    mean[n] = m;
    rstd[n] = s;
  }
}

void layernorm_backward_input(float* dinp, const float* dout, const float* inp, const float* w,
                              const float* mean, const float* rstd, int N, int C) {
  KernelTimer timer(KernelOp::kLayerNorm, 0);
#pragma omp parallel for schedule(static) if (static_cast<long>(N * C) >= kOmpMinWork)
  for (int n = 0; n < N; n++) {
    const float* x = inp + static_cast<long>(n) * C;
    const float* d = dout + static_cast<long>(n) * C;
    float* di = dinp + static_cast<long>(n) * C;
    const float m = mean[n], s = rstd[n];
    float dnorm_mean = 0.0f, dnorm_norm_mean = 0.0f;
    for (int c = 0; c < C; c++) {
      const float dnorm = w[c] * d[c];
      dnorm_mean += dnorm;
      dnorm_norm_mean += dnorm * (x[c] - m) * s;
    }
    dnorm_mean /= C;
    dnorm_norm_mean /= C;
    for (int c = 0; c < C; c++) {
      const float xhat = (x[c] - m) * s;
      di[c] += (w[c] * d[c] - dnorm_mean - xhat * dnorm_norm_mean) * s;
    }
  }
}

void layernorm_backward_weight(float* dw, float* db, const float* dout, const float* inp,
                               const float* mean, const float* rstd, int N, int C) {
  KernelTimer timer(KernelOp::kLayerNorm, 0);
  for (int n = 0; n < N; n++) {
    const float* x = inp + static_cast<long>(n) * C;
    const float* d = dout + static_cast<long>(n) * C;
    const float m = mean[n], s = rstd[n];
    for (int c = 0; c < C; c++) {
      dw[c] += d[c] * (x[c] - m) * s;
      db[c] += d[c];
    }
  }
}

void matmul_forward(float* out, const float* inp, const float* w, const float* bias, int N, int C, int OC) {
  KernelTimer timer(KernelOp::kGemmForward, 2.0 * N * C * OC);
  gemm(false, true, N, OC, C, inp, C, w, C, 0.0f, out, OC);
  if (bias != nullptr) MapMat(out, N, OC).rowwise() += ConstMapVec(bias, OC);
}

void matmul_backward_input(float* dinp, const float* dout, const float* w, int N, int C, int OC) {
  KernelTimer timer(KernelOp::kGemmBackwardInput, 2.0 * N * C * OC);
  gemm(false, false, N, C, OC, dout, OC, w, C, 1.0f, dinp, C);
}

void matmul_backward_weight(float* dw, float* dbias, const float* dout, const float* inp, int N, int C,
                            int OC) {
  KernelTimer timer(KernelOp::kGemmBackwardWeight, 2.0 * N * C * OC);
  gemm(true, false, OC, C, N, dout, OC, inp, C, 1.0f, dw, C);
  if (dbias == nullptr) return;
  // A plain row loop, not d.colwise().sum(): Eigen's vectorised partial reduction changes its
  // summation order with the buffer's alignment, which broke bit-identical runs. The sums live on
  // the stack up to kStackBias outputs (no allocation per call), on the heap beyond.
  constexpr int kStackBias = 4096;
  float stack_sum[kStackBias];
  std::vector<float> heap_sum;
  float* sum = stack_sum;
  if (OC > kStackBias) {
    heap_sum.resize(OC);
    sum = heap_sum.data();
  }
  std::copy(dout, dout + OC, sum);
  for (int n = 1; n < N; n++) {
    const float* r = dout + static_cast<long>(n) * OC;
    for (int o = 0; o < OC; o++) sum[o] += r[o];
  }
  for (int o = 0; o < OC; o++) dbias[o] += sum[o];
}

namespace {
constexpr float kGeluScale = 0.7978845608028654f;  // sqrt(2/pi)
constexpr long kGeluChunk = 4096;                  // elements per OpenMP iteration

using ConstMapArr = Eigen::Map<const Eigen::ArrayXf>;
using MapArr = Eigen::Map<Eigen::ArrayXf>;

// tanh(sqrt(2/pi) (x + 0.044715 x^3)) over a chunk, with Eigen's vectorised tanh (a rational
// approximation within a few ulp of std::tanh; scalar libm tanhf was a quarter of a step).
// Written into `th` (a chunk's buffer on the caller's stack) rather than returned as an
// ArrayXf, so a GELU allocates nothing per chunk (issue 24); the values are the same.
void gelu_tanh(const ConstMapArr& x, MapArr th) { th = (kGeluScale * (x + 0.044715f * x.cube())).tanh(); }
}  // namespace

void gelu_forward(float* out, const float* inp, int N) {
  KernelTimer timer(KernelOp::kGelu, 0);
  const long chunks = (N + kGeluChunk - 1) / kGeluChunk;
#pragma omp parallel for schedule(static) if (static_cast<long>(N) >= kOmpMinWork)
  for (long k = 0; k < chunks; k++) {
    const long lo = k * kGeluChunk, n = std::min<long>(kGeluChunk, N - lo);
    const ConstMapArr x(inp + lo, n);
    alignas(64) float th[kGeluChunk];
    gelu_tanh(x, MapArr(th, n));
    MapArr(out + lo, n) = 0.5f * x * (1.0f + ConstMapArr(th, n));
  }
}

void gelu_backward(float* dinp, const float* inp, const float* dout, int N) {
  KernelTimer timer(KernelOp::kGelu, 0);
  const long chunks = (N + kGeluChunk - 1) / kGeluChunk;
#pragma omp parallel for schedule(static) if (static_cast<long>(N) >= kOmpMinWork)
  for (long k = 0; k < chunks; k++) {
    const long lo = k * kGeluChunk, n = std::min<long>(kGeluChunk, N - lo);
    const ConstMapArr x(inp + lo, n);
    alignas(64) float th_buf[kGeluChunk], local_buf[kGeluChunk];
    gelu_tanh(x, MapArr(th_buf, n));
    const ConstMapArr th(th_buf, n);
    MapArr local(local_buf, n);
    local = 0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * kGeluScale * (1.0f + 3.0f * 0.044715f * x * x);
    MapArr(dinp + lo, n) = ConstMapArr(local_buf, n) * ConstMapArr(dout + lo, n);
  }
}

void crossentropy_forward(float* losses, float* probs, const float* logits, const int* targets, int N,
                          int V) {
  KernelTimer timer(KernelOp::kCrossEntropy, 0);
#pragma omp parallel for schedule(static) if (static_cast<long>(N * V) >= kOmpMinWork)
  for (int n = 0; n < N; n++) {
    const float* l = logits + static_cast<long>(n) * V;
    float* p = probs + static_cast<long>(n) * V;
    float mx = l[0];
    for (int v = 1; v < V; v++) mx = l[v] > mx ? l[v] : mx;
    float sum = 0.0f;
    for (int v = 0; v < V; v++) {
      p[v] = std::exp(l[v] - mx);
      sum += p[v];
    }
    const float inv = 1.0f / sum;
    for (int v = 0; v < V; v++) p[v] *= inv;
    // log-sum-exp form: exact even when probs[target] underflows.
    losses[n] = std::log(sum) + mx - l[targets[n]];
  }
}

void crossentropy_backward(float* dlogits, const float* probs, const int* targets, float dloss, int N,
                           int V) {
  KernelTimer timer(KernelOp::kCrossEntropy, 0);
#pragma omp parallel for schedule(static) if (static_cast<long>(N * V) >= kOmpMinWork)
  for (int n = 0; n < N; n++) {
    const float* p = probs + static_cast<long>(n) * V;
    float* d = dlogits + static_cast<long>(n) * V;
    for (int v = 0; v < V; v++) d[v] = p[v] * dloss;
    d[targets[n]] -= dloss;
  }
}

}  // namespace paci::exec
