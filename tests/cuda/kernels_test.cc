// Every GPU kernel against its CPU reference (exec/layers.h, exec/adamw.h) on seeded inputs, in
// fp32 (tolerance 1e-5 + 1e-4*|ref|) and bf16 (1e-2 + 2e-2*|ref|; inputs are rounded to bf16
// before the CPU reference sees them, so only the GPU's rounding of results and intermediates
// counts). Each comparison prints its max error. Skips cleanly without a GPU.
#include <gtest/gtest.h>

#include <type_traits>

#include "exec/model/adamw.h"
#include "exec/cuda/adamw.cuh"
#include "exec/cuda/attention.cuh"
#include "exec/cuda/crossentropy.cuh"
#include "exec/cuda/cuda_common.h"
#include "exec/cuda/elementwise.cuh"
#include "exec/cuda/encoder.cuh"
#include "exec/cuda/layernorm.cuh"
#include "exec/cuda/pipemare.cuh"
#include "exec/runtime/pipemare.h"
#include "exec/cuda/matmul.cuh"
#include "exec/cuda/stage_cuda.h"
#include "exec/model/layers.h"
#include "tests/cuda/cuda_test_util.h"

namespace paci::exec {
namespace {

using testing::DevArray;
using testing::expect_close;
using testing::randint;
using testing::randn;
using testing::round_to;
using testing::tol_for;
using testing::type_name;
using testing::upload_ints;

constexpr int B = 2, T = 16, C = 64, NH = 4, N = B * T, OC = 96, V = 200;

std::string tag(const char* what, const char* type) { return std::string(what) + " [" + type + "]"; }

class CudaKernels : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_WITHOUT_GPU();
    ctx_ = cuda_context_create();
  }
  void TearDown() override {
    if (ctx_.cublas != nullptr) cuda_context_destroy(&ctx_);
  }
  CudaContext ctx_;
};

template <typename X>
void check_encoder() {
  const std::vector<int> tok = randint(N, V, 1);
  const std::vector<float> wte = randn(static_cast<size_t>(V) * C, 2), wpe = randn(static_cast<size_t>(T) * C, 3);
  std::vector<float> ref(N * C);
  encoder_forward(ref.data(), tok.data(), wte.data(), wpe.data(), B, T, C);
  DeviceBuffer dtok = upload_ints(tok);
  DevArray<float> dwte(wte), dwpe(wpe);
  DevArray<X> out(N * C);
  encoder_forward_cuda<X>(out.get(), dtok.as<int>(), dwte.get(), dwpe.get(), B, T, C, nullptr);
  expect_close(tag("encoder_forward", type_name<X>()), out.download(), ref, tol_for<X>());

  const std::vector<float> dout = round_to<X>(randn(N * C, 4));
  std::vector<float> gte = randn(wte.size(), 5, 0.1f), gpe = randn(wpe.size(), 6, 0.1f);
  DevArray<float> dgte(gte), dgpe(gpe);
  DevArray<X> ddout(dout);
  encoder_backward_weight(gte.data(), gpe.data(), dout.data(), tok.data(), B, T, C);
  encoder_backward_weight_cuda<X>(dgte.get(), dgpe.get(), ddout.get(), dtok.as<int>(), B, T, C, nullptr);
  expect_close(tag("encoder_backward_weight dwte", type_name<X>()), dgte.download(), gte, testing::kFp32Tol);
  expect_close(tag("encoder_backward_weight dwpe", type_name<X>()), dgpe.download(), gpe, testing::kFp32Tol);
}
TEST_F(CudaKernels, Encoder) {
  check_encoder<float>();
  check_encoder<__nv_bfloat16>();
}

template <typename X>
void check_layernorm() {
  const std::vector<float> x = round_to<X>(randn(N * C, 10)), w = randn(C, 11, 0.5f), b = randn(C, 12, 0.5f);
  std::vector<float> out(N * C), mean(N), rstd(N);
  layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C);
  DevArray<X> dx(x), dout_(N * C);
  DevArray<float> dw(w), db(b), dmean(N), drstd(N);
  layernorm_forward_cuda<X>(dout_.get(), dmean.get(), drstd.get(), dx.get(), dw.get(), db.get(), N, C, nullptr);
  expect_close(tag("layernorm_forward out", type_name<X>()), dout_.download(), out, tol_for<X>());
  expect_close(tag("layernorm_forward mean", type_name<X>()), dmean.download(), mean, testing::kFp32Tol);
  expect_close(tag("layernorm_forward rstd", type_name<X>()), drstd.download(), rstd, testing::kFp32Tol);

  // Backward parts accumulate (+=) into non-zero buffers, as the CPU contract says.
  const std::vector<float> dy = round_to<X>(randn(N * C, 13));
  std::vector<float> dinp = round_to<X>(randn(N * C, 14)), gw = randn(C, 15), gb = randn(C, 16);
  DevArray<X> ddy(dy), ddinp(dinp);
  DevArray<float> dgw(gw), dgb(gb);
  layernorm_backward_input(dinp.data(), dy.data(), x.data(), w.data(), mean.data(), rstd.data(), N, C);
  layernorm_backward_input_cuda<X>(ddinp.get(), ddy.get(), dx.get(), dw.get(), dmean.get(), drstd.get(), N, C,
                                   nullptr);
  expect_close(tag("layernorm_backward_input", type_name<X>()), ddinp.download(), dinp, tol_for<X>());
  layernorm_backward_weight(gw.data(), gb.data(), dy.data(), x.data(), mean.data(), rstd.data(), N, C);
  layernorm_backward_weight_cuda<X>(dgw.get(), dgb.get(), ddy.get(), dx.get(), dmean.get(), drstd.get(), N, C,
                                    nullptr);
  // fp32 sums of N products: relative 1e-4 of the result, plus bf16's rounding of inputs if any.
  expect_close(tag("layernorm_backward_weight dw", type_name<X>()), dgw.download(), gw, {1e-4, 1e-4});
  expect_close(tag("layernorm_backward_weight db", type_name<X>()), dgb.download(), gb, {1e-4, 1e-4});
}
TEST_F(CudaKernels, LayerNorm) {
  check_layernorm<float>();
  check_layernorm<__nv_bfloat16>();
}

template <typename X>
void check_matmul(const CudaContext& ctx) {
  const std::vector<float> x = round_to<X>(randn(N * C, 20, 0.5f)), w = round_to<X>(randn(OC * C, 21, 0.1f));
  const std::vector<float> bias = randn(OC, 22, 0.1f);
  std::vector<float> out(N * OC);
  matmul_forward(out.data(), x.data(), w.data(), bias.data(), N, C, OC);
  DevArray<X> dx(x), dwx(w), dout_(N * OC);
  DevArray<float> dbias(bias);
  matmul_forward_cuda<X>(ctx, dout_.get(), dx.get(), dwx.get(), dbias.get(), N, C, OC);
  expect_close(tag("matmul_forward", type_name<X>()), dout_.download(), out, tol_for<X>());

  const std::vector<float> dy = round_to<X>(randn(N * OC, 23, 0.5f));
  std::vector<float> dinp = round_to<X>(randn(N * C, 24, 0.5f));
  DevArray<X> ddy(dy), ddinp(dinp);
  matmul_backward_input(dinp.data(), dy.data(), w.data(), N, C, OC);
  matmul_backward_input_cuda<X>(ctx, ddinp.get(), ddy.get(), dwx.get(), N, C, OC, true);
  expect_close(tag("matmul_backward_input", type_name<X>()), ddinp.download(), dinp, tol_for<X>());

  std::vector<float> gw = randn(OC * C, 25, 0.1f), gb = randn(OC, 26, 0.1f);
  DevArray<float> dgw(gw), dgb(gb);
  matmul_backward_weight(gw.data(), gb.data(), dy.data(), x.data(), N, C, OC);
  matmul_backward_weight_cuda<X>(ctx, dgw.get(), dgb.get(), ddy.get(), dx.get(), N, C, OC);
  // fp32 results from (possibly bf16) operands: exact products, fp32 sums.
  expect_close(tag("matmul_backward_weight dw", type_name<X>()), dgw.download(), gw, testing::kFp32Tol);
  expect_close(tag("matmul_backward_weight dbias", type_name<X>()), dgb.download(), gb, testing::kFp32Tol);
}
TEST_F(CudaKernels, Matmul) {
  check_matmul<float>(ctx_);
  check_matmul<__nv_bfloat16>(ctx_);
}

template <typename X>
void check_attention(const CudaContext& ctx) {
  const std::vector<float> qkv = round_to<X>(randn(N * 3 * C, 30));
  std::vector<float> out(N * C), att(static_cast<size_t>(B) * NH * T * T);
  attention_forward(out.data(), att.data(), qkv.data(), B, T, C, NH);
  DevArray<X> dqkv_in(qkv), dout_(N * C), datt(att.size()), scratch(attention_scratch_elems(B, T, C, NH));
  attention_forward_cuda<X>(ctx, dout_.get(), datt.get(), dqkv_in.get(), scratch.get(), B, T, C, NH);
  expect_close(tag("attention_forward out", type_name<X>()), dout_.download(), out, tol_for<X>());
  expect_close(tag("attention_forward att", type_name<X>()), datt.download(), att, tol_for<X>());

  const std::vector<float> dy = round_to<X>(randn(N * C, 31));
  std::vector<float> dqkv(N * 3 * C);
  // The backward reads att as the GPU stored it (rounded in bf16), so hand the CPU the same.
  const std::vector<float> att_used = datt.download();
  attention_backward(dqkv.data(), dy.data(), qkv.data(), att_used.data(), B, T, C, NH);
  DevArray<X> ddy(dy), ddqkv(N * 3 * C);
  attention_backward_cuda<X>(ctx, ddqkv.get(), ddy.get(), dqkv_in.get(), datt.get(), scratch.get(), B, T, C, NH);
  // bf16 rounds three intermediates here (scores, d(att), d(scores)), hence twice the bf16 tolerance.
  const testing::Tolerance tol = std::is_same_v<X, float> ? tol_for<X>() : testing::Tolerance{2e-2, 4e-2};
  expect_close(tag("attention_backward dqkv", type_name<X>()), ddqkv.download(), dqkv, tol);
}
TEST_F(CudaKernels, Attention) {
  check_attention<float>(ctx_);
  check_attention<__nv_bfloat16>(ctx_);
}

template <typename X>
void check_elementwise() {
  const long n = N * 4 * C;
  const std::vector<float> x = round_to<X>(randn(n, 40, 2.0f)), dy = round_to<X>(randn(n, 41));
  std::vector<float> out(n), dinp(n);
  gelu_forward(out.data(), x.data(), static_cast<int>(n));
  gelu_backward(dinp.data(), x.data(), dy.data(), static_cast<int>(n));
  DevArray<X> dx(x), ddy(dy), dout_(n), ddinp(n);
  gelu_forward_cuda<X>(dout_.get(), dx.get(), n, nullptr);
  gelu_backward_cuda<X>(ddinp.get(), dx.get(), ddy.get(), n, nullptr);
  expect_close(tag("gelu_forward", type_name<X>()), dout_.download(), out, tol_for<X>());
  expect_close(tag("gelu_backward", type_name<X>()), ddinp.download(), dinp, tol_for<X>());

  // Reference: the residual loop of block_forward (exec/stage.cc).
  std::vector<float> sum(n);
  for (long i = 0; i < n; i++) sum[i] = x[i] + dy[i];
  residual_forward_cuda<X>(dx.get(), dx.get(), ddy.get(), n, nullptr);  // in place, as the stage uses it
  expect_close(tag("residual_forward", type_name<X>()), dx.download(), sum, tol_for<X>());
}
TEST_F(CudaKernels, GeluAndResidual) {
  check_elementwise<float>();
  check_elementwise<__nv_bfloat16>();
}

template <typename X>
void check_crossentropy() {
  std::vector<float> raw = randn(static_cast<size_t>(N) * V, 50, 3.0f);
  const std::vector<int> tgt = randint(N, V, 51);
  // Every other row confident: the target's logit 6 to 14 above the others (p from ~0.9 to
  // 1 - 2e-4), where a probability stored in bf16 rounds to 1 or 0.996 and the target's p - 1 is lost.
  for (int n = 0; n < N; n += 2) {
    for (int v = 0; v < V; v++) raw[static_cast<size_t>(n) * V + v] *= 0.1f;
    raw[static_cast<size_t>(n) * V + tgt[n]] = 6.0f + 8.0f * n / N;
  }
  const std::vector<float> logits = round_to<X>(raw);
  std::vector<float> losses(N), probs(logits.size()), dlogits(logits.size());
  crossentropy_forward(losses.data(), probs.data(), logits.data(), tgt.data(), N, V);
  const float dloss = 1.0f / N;
  crossentropy_backward(dlogits.data(), probs.data(), tgt.data(), dloss, N, V);
  DevArray<X> dl(logits);
  DevArray<float> dlosses(N), dstats(2 * N), dmean(1);
  DeviceBuffer dtgt = upload_ints(tgt);
  // In place, as the stage model runs it: the forward leaves the logits, dlogits overwrite them.
  crossentropy_forward_cuda<X>(dlosses.get(), dstats.get(), dl.get(), dtgt.as<int>(), N, V, nullptr);
  expect_close(tag("crossentropy_forward losses", type_name<X>()), dlosses.download(), losses, tol_for<X>());
  expect_close(tag("crossentropy_forward leaves logits", type_name<X>()), dl.download(), logits, {0.0, 0.0});
  mean_loss_cuda(dmean.get(), dlosses.get(), N, nullptr);
  double mean = 0;
  for (float l : losses) mean += l;
  expect_close(tag("mean_loss", type_name<X>()), dmean.download(), {static_cast<float>(mean / N)}, tol_for<X>());
  crossentropy_backward_cuda<X>(dl.get(), dl.get(), dstats.get(), dtgt.as<int>(), dloss, N, V, nullptr);
  const std::vector<float> got = dl.download();
  expect_close(tag("crossentropy_backward", type_name<X>()), got, dlogits,
               {tol_for<X>().atol * dloss, tol_for<X>().rtol});
  // The target entries alone, held relative to their own size: (p - 1) * dloss is the term the
  // absolute tolerance above cannot see for confident rows. Only the final rounding of dlogits to
  // X (2^-9 relative in bf16) may remain; a probability rounded to bf16 first would fail here.
  std::vector<float> got_t(N), want_t(N);
  for (int n = 0; n < N; n++) {
    got_t[n] = got[static_cast<size_t>(n) * V + tgt[n]];
    want_t[n] = dlogits[static_cast<size_t>(n) * V + tgt[n]];
  }
  expect_close(tag("crossentropy_backward target entries", type_name<X>()), got_t, want_t,
               {1e-6 * dloss, std::is_same_v<X, float> ? 1e-4 : 4e-3});
}
TEST_F(CudaKernels, CrossEntropy) {
  check_crossentropy<float>();
  check_crossentropy<__nv_bfloat16>();
}

TEST_F(CudaKernels, AdamW) {
  GPTConfig cfg;
  cfg.vocab_size = 64, cfg.block_size = 8, cfg.n_layer = 1, cfg.n_head = 2, cfg.n_embd = 16;
  const ParamLayout layout = gpt_param_layout(cfg);
  const size_t off = layout.layer_offset[1], n = layout.total - off;  // a stage span: block + head
  AdamWConfig ac;
  AdamW cpu = adamw_create(ac, layout, off, n);
  AdamWCuda gpu = adamw_cuda_create(ac, layout, off, n, nullptr);
  std::vector<float> p = randn(n, 60, 0.1f);
  DevArray<float> dp(p), dg(n);
  DevArray<__nv_bfloat16> shadow(n);
  for (int step = 0; step < 3; step++) {
    const std::vector<float> g = randn(n, 61 + step, 0.01f);
    dg.upload(g);
    const float lr = 1e-3f * (step + 1);
    adamw_update(&cpu, p.data(), g.data(), lr);
    adamw_cuda_update(&gpu, dp.get(), dg.get(), lr, shadow.get(), nullptr);
  }
  expect_close("adamw_update params (3 steps) [fp32]", dp.download(), p, {1e-6, 1e-5});
  expect_close("adamw_update bf16 copy of params", shadow.download(), p, {1e-6, 8e-3});
  EXPECT_EQ(gpu.step, cpu.step);
}

// GPT-2-small sizes (T 256, C 768, 12 heads, V 50304): the LM-head GEMM, cross-entropy and
// attention at the shapes the GPU check trains, where tiling and grid-stride bugs would show.
template <typename X>
void check_real_sizes(const CudaContext& ctx) {
  constexpr int RB = 1, RT = 256, RC = 768, RNH = 12, RV = 50304, RN = RB * RT;
  const std::vector<float> x = round_to<X>(randn(static_cast<size_t>(RN) * RC, 80, 0.5f));
  const std::vector<float> w = round_to<X>(randn(static_cast<size_t>(RV) * RC, 81, 0.02f));
  std::vector<float> logits(static_cast<size_t>(RN) * RV);
  matmul_forward(logits.data(), x.data(), w.data(), nullptr, RN, RC, RV);
  DevArray<X> dx(x), dw(w), dlogits(logits.size());
  matmul_forward_cuda<X>(ctx, dlogits.get(), dx.get(), dw.get(), nullptr, RN, RC, RV);
  expect_close(tag("matmul_forward N 256 C 768 OC 50304", type_name<X>()), dlogits.download(), logits, tol_for<X>());

  const std::vector<float> lg = round_to<X>(logits);
  const std::vector<int> tgt = randint(RN, RV, 82);
  std::vector<float> losses(RN), probs(lg.size());
  crossentropy_forward(losses.data(), probs.data(), lg.data(), tgt.data(), RN, RV);
  DevArray<X> dl(lg);
  DevArray<float> dlosses(RN), dstats(2 * RN);
  DeviceBuffer dtgt = upload_ints(tgt);
  crossentropy_forward_cuda<X>(dlosses.get(), dstats.get(), dl.get(), dtgt.as<int>(), RN, RV, nullptr);
  expect_close(tag("crossentropy_forward losses V 50304", type_name<X>()), dlosses.download(), losses, tol_for<X>());

  const std::vector<float> qkv = round_to<X>(randn(static_cast<size_t>(RN) * 3 * RC, 83));
  std::vector<float> out(static_cast<size_t>(RN) * RC), att(static_cast<size_t>(RB) * RNH * RT * RT);
  attention_forward(out.data(), att.data(), qkv.data(), RB, RT, RC, RNH);
  DevArray<X> dqkv(qkv), dout_(out.size()), datt(att.size()), scratch(attention_scratch_elems(RB, RT, RC, RNH));
  attention_forward_cuda<X>(ctx, dout_.get(), datt.get(), dqkv.get(), scratch.get(), RB, RT, RC, RNH);
  expect_close(tag("attention_forward T 256 C 768", type_name<X>()), dout_.download(), out, tol_for<X>());
}
TEST_F(CudaKernels, RealSizes) {
  check_real_sizes<float>(ctx_);
  check_real_sizes<__nv_bfloat16>(ctx_);
}

TEST_F(CudaKernels, PipeMare) {
  const size_t n = 10007;  // not a multiple of the block size
  std::vector<float> delta = randn(n, 70, 0.01f), w = randn(n, 71), before = randn(n, 72);
  DevArray<float> ddelta(delta), dw(w), dbefore(before), dout(n);
  pipemare_update_delta(delta.data(), w.data(), before.data(), 0.9f, n);
  pipemare_update_delta_cuda(ddelta.get(), dw.get(), dbefore.get(), 0.9f, n, nullptr);
  expect_close("pipemare_update_delta [fp32]", ddelta.download(), delta, testing::kFp32Tol);
  std::vector<float> out(n);
  pipemare_corrected_weights(out.data(), w.data(), delta.data(), 3.0f, n);
  pipemare_corrected_weights_cuda(dout.get(), dw.get(), ddelta.get(), 3.0f, n, nullptr);
  expect_close("pipemare_corrected_weights [fp32]", dout.download(), out, testing::kFp32Tol);
}

}  // namespace
}  // namespace paci::exec
