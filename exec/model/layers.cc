// Row-wise kernels and the linear layer. See layers.h for the contract.
#include "exec/model/layers.h"

#include <cmath>
#include <vector>

#include "exec/model/eigen_maps.h"

namespace paci::exec {

namespace {
// Below this many elements a loop runs on the calling thread: waking the OpenMP team costs more
// than the work (tiny test models, busy machines).
constexpr long kOmpMinWork = 1 << 15;
}  // namespace

void encoder_forward(float* out, const int* inp, const float* wte, const float* wpe, int B, int T, int C) {
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
  MapMat o(out, N, OC);
  o.noalias() = ConstMapMat(inp, N, C) * ConstMapMat(w, OC, C).transpose();
  if (bias != nullptr) o.rowwise() += ConstMapVec(bias, OC);
}

void matmul_backward_input(float* dinp, const float* dout, const float* w, int N, int C, int OC) {
  MapMat(dinp, N, C).noalias() += ConstMapMat(dout, N, OC) * ConstMapMat(w, OC, C);
}

void matmul_backward_weight(float* dw, float* dbias, const float* dout, const float* inp, int N, int C,
                            int OC) {
  ConstMapMat d(dout, N, OC);
  MapMat(dw, OC, C).noalias() += d.transpose() * ConstMapMat(inp, N, C);
  if (dbias == nullptr) return;
  // A plain row loop, not d.colwise().sum(): Eigen's vectorised partial reduction changes its
  // summation order with the buffer's alignment, which broke bit-identical runs.
  std::vector<float> sum(dout, dout + OC);
  for (int n = 1; n < N; n++) {
    const float* r = dout + static_cast<long>(n) * OC;
    for (int o = 0; o < OC; o++) sum[o] += r[o];
  }
  for (int o = 0; o < OC; o++) dbias[o] += sum[o];
}

namespace {
constexpr float kGeluScale = 0.7978845608028654f;  // sqrt(2/pi)
}

void gelu_forward(float* out, const float* inp, int N) {
#pragma omp parallel for schedule(static) if (static_cast<long>(N) >= kOmpMinWork)
  for (int i = 0; i < N; i++) {
    const float x = inp[i];
    out[i] = 0.5f * x * (1.0f + std::tanh(kGeluScale * (x + 0.044715f * x * x * x)));
  }
}

void gelu_backward(float* dinp, const float* inp, const float* dout, int N) {
#pragma omp parallel for schedule(static) if (static_cast<long>(N) >= kOmpMinWork)
  for (int i = 0; i < N; i++) {
    const float x = inp[i];
    const float th = std::tanh(kGeluScale * (x + 0.044715f * x * x * x));
    const float sech2 = 1.0f - th * th;
    const float local = 0.5f * (1.0f + th) + 0.5f * x * sech2 * kGeluScale * (1.0f + 3.0f * 0.044715f * x * x);
    dinp[i] = local * dout[i];
  }
}

void crossentropy_forward(float* losses, float* probs, const float* logits, const int* targets, int N,
                          int V) {
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
#pragma omp parallel for schedule(static) if (static_cast<long>(N * V) >= kOmpMinWork)
  for (int n = 0; n < N; n++) {
    const float* p = probs + static_cast<long>(n) * V;
    float* d = dlogits + static_cast<long>(n) * V;
    for (int v = 0; v < V; v++) d[v] = p[v] * dloss;
    d[targets[n]] -= dloss;
  }
}

}  // namespace paci::exec
