// StageModelCuda against StageModel (exec/stage.h) on a tiny GPT: forward output and loss,
// backward_input's gradient for the previous stage, and backward_weight's gradients, for the whole
// model and for pipeline slices, with the backward run on weights different from the forward's (as
// PACI does). Errors are measured relative to the largest reference value of each tensor:
// fp32 1e-4, bf16 5e-2 (every activation is rounded to bf16 between kernels). Skips without a GPU.
#include "exec/model/stage.h"

#include <gtest/gtest.h>

#include <cmath>
#include <ostream>

#include "exec/cuda/stage_cuda.h"
#include "exec/model/gpt.h"
#include "tests/cuda/cuda_test_util.h"

// gtest prints test parameters through PrintTo, found by argument-dependent lookup: in the
// enum's own namespace.
namespace paci::ir {
void PrintTo(Precision p, std::ostream* os) { *os << PrecisionName(p); }
}  // namespace paci::ir

namespace paci::exec {

namespace {

using testing::DevArray;
using testing::randint;
using testing::randn;

GPTConfig TinyConfig(bool tie) {
  GPTConfig c;
  c.vocab_size = 96;
  c.block_size = 16;
  c.n_layer = 2;
  c.n_head = 4;
  c.n_embd = 64;
  c.tie = tie;
  return c;
}

// max |gpu - cpu| <= rel * max(1e-3, max |cpu|); prints both numbers.
void expect_rel_close(const std::string& name, const std::vector<float>& gpu, const std::vector<float>& cpu,
                      double rel) {
  ASSERT_EQ(gpu.size(), cpu.size()) << name;
  double err = 0, scale = 1e-3;
  for (size_t i = 0; i < cpu.size(); i++) {
    err = std::max(err, std::fabs(static_cast<double>(gpu[i]) - cpu[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(cpu[i])));
  }
  std::printf("  %-44s max abs err %.3e, max |ref| %.3e (tolerance %.0e * max |ref|)\n", name.c_str(), err,
              scale, rel);
  EXPECT_LE(err, rel * scale) << name;
}

struct Slice {
  int first, last;
  bool tie;
};
void PrintTo(const Slice& s, std::ostream* os) {
  *os << "[" << s.first << ", " << s.last << (s.tie ? ") tied" : ")");
}

class CudaStage : public ::testing::TestWithParam<std::tuple<Slice, ir::Precision>> {};

TEST_P(CudaStage, MatchesCpuStageModel) {
  SKIP_WITHOUT_GPU();
  const auto [slice, precision] = GetParam();
  const GPTConfig cfg = TinyConfig(slice.tie);
  const int B = 2, T = cfg.block_size, C = cfg.n_embd, N = B * T;
  const double rel = precision == ir::PRECISION_FP32 ? 1e-4 : 5e-2;
  const std::string pname = PrecisionName(precision);

  Result<StageModel> cpu = StageModel::Create(cfg, slice.first, slice.last);
  ASSERT_TRUE(cpu.ok()) << cpu.status().ToString();
  Result<StageModelCuda> gpu = StageModelCuda::Create(cfg, slice.first, slice.last, precision);
  ASSERT_TRUE(gpu.ok());
  const ParamLayout layout = gpt_param_layout(cfg);
  std::vector<float> all(layout.total);
  gpt_init_params(cfg, layout, 5, all.data());
  const size_t off = cpu->param_offset(), n = cpu->num_params();
  std::vector<float> w(all.begin() + off, all.begin() + off + n);
  // The backward's weights: the forward's, moved (PACI's live weights after an update).
  std::vector<float> w2 = w;
  const std::vector<float> noise = randn(n, 9, 1e-3f);
  for (size_t i = 0; i < n; i++) w2[i] += noise[i];

  const std::vector<int> tokens = randint(N, cfg.vocab_size, 1), targets = randint(N, cfg.vocab_size, 2);
  const std::vector<float> acts = randn(static_cast<size_t>(N) * C, 3);
  const std::vector<float> dout = randn(static_cast<size_t>(N) * C, 4, 0.01f);
  const float dloss = 0.5f;

  StageInput in;
  in.tokens = cpu->has_embedding() ? tokens.data() : nullptr;
  in.acts = cpu->has_embedding() ? nullptr : acts.data();
  in.targets = cpu->has_head() ? targets.data() : nullptr;
  StageSaved saved;
  std::vector<float> out, dinp, grads(n, 0.0f);
  cpu->forward(w.data(), in, B, T, &saved, &out);
  cpu->backward(w2.data(), &saved, cpu->has_head() ? &dloss : dout.data(), &dinp, grads.data());

  CudaContext ctx = cuda_context_create();
  DevArray<float> dw(w), dw2(w2), dgrads(n);
  DevArray<__nv_bfloat16> dw_bf(n), dw2_bf(n);
  convert_cuda<__nv_bfloat16, float>(dw_bf.get(), dw.get(), n, ctx.stream);
  convert_cuda<__nv_bfloat16, float>(dw2_bf.get(), dw2.get(), n, ctx.stream);
  DeviceBuffer dtok = testing::upload_ints(tokens), dtgt = testing::upload_ints(targets);
  const size_t act_n = static_cast<size_t>(N) * C;
  DeviceBuffer dacts(act_n * 4), dout_dev(act_n * 4), out_dev(act_n * 4), dinp_dev(act_n * 4);
  auto to_act = [&](const std::vector<float>& host, void* dst) {
    DevArray<float> tmp(host);
    if (precision == ir::PRECISION_FP32)
      CUDA_CHECK(cudaMemcpy(dst, tmp.get(), host.size() * 4, cudaMemcpyDeviceToDevice));
    else
      convert_cuda<__nv_bfloat16, float>(static_cast<__nv_bfloat16*>(dst), tmp.get(), host.size(), nullptr);
    CUDA_CHECK(cudaDeviceSynchronize());
  };
  auto from_act = [&](const void* src, size_t count) {
    DevArray<float> tmp(count);
    if (precision == ir::PRECISION_FP32)
      CUDA_CHECK(cudaMemcpy(tmp.get(), src, count * 4, cudaMemcpyDeviceToDevice));
    else
      convert_cuda<float, __nv_bfloat16>(tmp.get(), static_cast<const __nv_bfloat16*>(src), count, nullptr);
    return tmp.download();
  };
  to_act(acts, dacts.get());
  to_act(dout, dout_dev.get());

  StageInputCuda gin;
  gin.tokens = cpu->has_embedding() ? dtok.as<int>() : nullptr;
  gin.acts = cpu->has_embedding() ? nullptr : dacts.get();
  gin.targets = cpu->has_head() ? dtgt.as<int>() : nullptr;
  StageSavedCuda gsaved;
  gpu->forward(ctx, {dw.get(), dw_bf.get()}, gin, B, T, &gsaved, out_dev.get());
  // from_act reads out_dev on the legacy default stream, which does not wait for ctx.stream.
  CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
  if (cpu->has_head()) {
    const float loss = stage_loss_cuda(gsaved, ctx.stream);
    std::printf("  loss cpu %.6f gpu %.6f [%s]\n", saved.loss, loss, pname.c_str());
    EXPECT_NEAR(loss, saved.loss, precision == ir::PRECISION_FP32 ? 1e-4 : 2e-2);
  } else {
    expect_rel_close(std::string("forward output [") + pname + "]", from_act(out_dev.get(), act_n), out, rel);
  }
  gpu->backward(ctx, {dw2.get(), dw2_bf.get()}, &gsaved, dout_dev.get(), dloss,
                cpu->has_embedding() ? nullptr : dinp_dev.get(), dgrads.get());
  CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
  if (!cpu->has_embedding())
    expect_rel_close(std::string("backward_input dinp [") + pname + "]", from_act(dinp_dev.get(), act_n),
                     dinp, rel);
  // Per tensor, so a small tensor's error is not hidden by a large one's scale.
  const std::vector<float> g = dgrads.download();
  for (const ParamSpec& s : layout.tensors) {
    if (s.offset < off || s.offset >= off + n) continue;
    const size_t o = s.offset - off;
    expect_rel_close("grad " + s.name + " [" + pname + "]",
                     std::vector<float>(g.begin() + o, g.begin() + o + s.numel),
                     std::vector<float>(grads.begin() + o, grads.begin() + o + s.numel), rel);
  }
  cuda_context_destroy(&ctx);
}

INSTANTIATE_TEST_SUITE_P(Slices, CudaStage,
                         ::testing::Combine(::testing::Values(Slice{0, 4, false}, Slice{0, 4, true},
                                                              Slice{0, 2, false}, Slice{2, 4, false},
                                                              Slice{1, 3, false}, Slice{3, 4, false}),
                                            ::testing::Values(ir::PRECISION_FP32, ir::PRECISION_BF16)),
                         [](const ::testing::TestParamInfo<CudaStage::ParamType>& info) {
                           const Slice s = std::get<0>(info.param);
                           return "layers_" + std::to_string(s.first) + "_" + std::to_string(s.last) +
                                  (s.tie ? "_tied_" : "_") + PrecisionName(std::get<1>(info.param));
                         });

}  // namespace
}  // namespace paci::exec
