// Host-to-device uploads of the CUDA backend are ordered before the kernels that read them.
// The stage stream is non-blocking, so it does not wait for the legacy default stream, where a
// plain cudaMemcpy / cudaMemset runs, and a pageable cudaMemcpy may return before its DMA lands.
// Each test uploads large pageable buffers and at once runs a kernel on the stage stream that
// reads them, several times with fresh data, then checks the kernel saw the new data: with the
// uploads on the legacy stream, a kernel may read the previous round's (or uninitialised) bytes.
// Skips without a GPU (unrun so far: no GPU has been available).
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "exec/cuda/cuda_backend.h"
#include "exec/model/gpt.h"
#include "exec/model/stage.h"
#include "exec/runtime/thread_transport.h"
#include "tests/cuda/cuda_test_util.h"

namespace paci::exec {
namespace {

using testing::randint;
using testing::randn;

// ~17 M parameters: 68 MB per fp32 array, so a copy takes long enough to race a kernel.
GPTConfig BigConfig() {
  GPTConfig cfg;
  cfg.vocab_size = 8192;
  cfg.block_size = 256;
  cfg.n_layer = 4;
  cfg.n_head = 8;
  cfg.n_embd = 512;
  cfg.tie = false;
  return cfg;
}

CudaBackendSetup BackendSetup(const GPTConfig& cfg, LayerRange r, const float* init) {
  CudaBackendSetup s;
  s.model = cfg;
  s.B = 8;
  s.precision = ir::PRECISION_FP32;
  s.chunks = {r};
  s.init_params = init;
  s.origin = std::chrono::steady_clock::now();
  return s;
}

// Create uploads the weights and zeroes gradients and moments; a step at lr 0 straight after must
// leave the weights as uploaded and the moments zero (a gradient not yet zeroed would not).
TEST(CudaUploadOrder, CreateThenStep) {
  SKIP_WITHOUT_GPU();
  const GPTConfig cfg = BigConfig();
  const ParamLayout layout = gpt_param_layout(cfg);
  for (uint32_t round = 0; round < 4; ++round) {
    std::vector<float> init = randn(layout.total, 100 + round, 0.02f);
    Result<std::unique_ptr<CudaBackend>> b =
        CudaBackend::Create(BackendSetup(cfg, {0, gpt_num_layers(cfg)}, init.data()));
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    (*b)->OptimizerStep({0.0f}, 0);
    ChunkState out;
    (*b)->ExportChunk(0, &out);
    size_t bad_w = 0, bad_mv = 0;
    for (size_t i = 0; i < init.size(); ++i) {
      bad_w += out.weights[i] != init[i];
      bad_mv += out.m[i] != 0.0f || out.v[i] != 0.0f;
    }
    EXPECT_EQ(bad_w, 0u) << "round " << round << ": weights differ from the upload";
    EXPECT_EQ(bad_mv, 0u) << "round " << round
                          << ": moments not zero (gradients or moments read before zeroed)";
  }
}

// ImportChunk (checkpoint resume) then at once a step at lr 0: weights unchanged, m = beta1 * m,
// v = beta2 * v of the imported state, not of the previous round's.
TEST(CudaUploadOrder, ImportThenStep) {
  SKIP_WITHOUT_GPU();
  const GPTConfig cfg = BigConfig();
  const ParamLayout layout = gpt_param_layout(cfg);
  std::vector<float> init(layout.total, 0.0f);
  Result<std::unique_ptr<CudaBackend>> b =
      CudaBackend::Create(BackendSetup(cfg, {0, gpt_num_layers(cfg)}, init.data()));
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  const AdamWConfig ac;
  for (uint32_t round = 0; round < 8; ++round) {
    ChunkState in;
    in.weights = randn(layout.total, 200 + round, 0.02f);
    in.m = randn(layout.total, 300 + round, 0.01f);
    in.v = randn(layout.total, 400 + round, 0.01f);
    for (float& x : in.v) x = x * x;
    in.step = 3 + round;
    (*b)->ImportChunk(0, in);
    (*b)->OptimizerStep({0.0f}, 0);
    ChunkState out;
    (*b)->ExportChunk(0, &out);
    size_t bad = 0;
    for (size_t i = 0; i < layout.total; ++i) {
      const float m = ac.beta1 * in.m[i], v = ac.beta2 * in.v[i];
      bad += out.weights[i] != in.weights[i] || std::fabs(out.m[i] - m) > 1e-6f * std::fabs(m) ||
             std::fabs(out.v[i] - v) > 1e-6f * std::fabs(v);
    }
    EXPECT_EQ(bad, 0u) << "round " << round << ": the step did not see the imported state";
  }
}

// A host-transport receive, then at once the forward that reads it (a head-only stage): each
// round's loss must be the CPU model's on that round's activations, not the previous round's.
TEST(CudaUploadOrder, RecvThenForward) {
  SKIP_WITHOUT_GPU();
  const GPTConfig cfg = BigConfig();
  const ParamLayout layout = gpt_param_layout(cfg);
  const int head = gpt_num_layers(cfg) - 1, B = 8, T = cfg.block_size, N = B * T;
  std::vector<float> init = randn(layout.total, 500, 0.02f);
  Result<std::unique_ptr<CudaBackend>> b =
      CudaBackend::Create(BackendSetup(cfg, {head, head + 1}, init.data()));
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  Result<StageModel> cpu = StageModel::Create(cfg, head, head + 1);
  ASSERT_TRUE(cpu.ok()) << cpu.status().ToString();
  ThreadTransportHub hub(2);
  std::unique_ptr<Transport> sender = hub.Endpoint(0), receiver = hub.Endpoint(1);
  constexpr uint32_t kRounds = 8;
  std::vector<float> want(kRounds);
  for (uint32_t mb = 0; mb < kRounds; ++mb) {
    // Fresh activations and targets each round: the losses of two rounds differ by ~1e-2 (mean of
    // 2048 tokens' cross-entropy), ~10x the tolerance, so reading a stale or half-landed message shows.
    const std::vector<float> acts = randn(static_cast<size_t>(N) * cfg.n_embd, 600 + mb, 1.0f + 3.0f * mb);
    const std::vector<int> targets = randint(N, cfg.vocab_size, 700 + mb);
    StageSaved saved;
    std::vector<float> out;
    cpu->forward(init.data() + cpu->param_offset(), StageInput{nullptr, acts.data(), targets.data()}, B, T,
                 &saved, &out);
    want[mb] = saved.loss;
    const MessageKey key{false, mb, static_cast<uint32_t>(0), static_cast<uint32_t>(1)};
    ASSERT_TRUE(sender->Send(1, key, acts).ok());
    const MicroBatchSlot slot{mb, 0};
    Status st = (*b)->Recv(*receiver, 0, key, slot, std::chrono::milliseconds(10000));
    ASSERT_TRUE(st.ok()) << st.ToString();
    st = (*b)->Forward(slot, 0, 0, nullptr, targets.data());
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  (*b)->Synchronize();
  std::vector<float> got(kRounds);
  (*b)->ReadLosses(0, kRounds, got.data());
  for (uint32_t mb = 0; mb < kRounds; ++mb)
    EXPECT_NEAR(got[mb], want[mb], 1e-4 * std::fabs(want[mb])) << "micro-batch " << mb;
}

}  // namespace
}  // namespace paci::exec
