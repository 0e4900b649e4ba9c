// One-GPU mode against the CPU pipeline runtime: the same schedule IR, model, seed and batches give
// the same per-update losses (fp32; 1e-3 absolute over the run, as accumulation orders differ), every
// op is traced once, and unsupported weight policies are refused with a message. Skips without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <ostream>

#include "exec/cuda/gpu_pipeline.h"
#include "exec/runtime/pipeline_trainer.h"
#include "sched/expanded_schedule.h"
#include "sched/schedule_generator.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/runtime/tiny_setup.h"

namespace paci::exec {
namespace {

ir::Schedule Generate(ir::ScheduleKind kind, uint32_t P, uint32_t M, uint32_t K, uint64_t total) {
  ir::PipelineSpec spec;
  spec.set_kind(kind);
  spec.set_stages(P);
  spec.set_microbatches_per_iteration(M);
  spec.set_accum(K);
  spec.set_total_microbatches(total);
  Result<ir::Schedule> s = GenerateSchedule(spec);
  PACI_CHECK(s.ok());
  return *s;
}

struct Case {
  ir::ScheduleKind kind;
  uint32_t P, M, K;
};
void PrintTo(const Case& c, std::ostream* os) {
  *os << ir::ScheduleKind_Name(c.kind) << " P=" << c.P << " M=" << c.M << " K=" << c.K;
}

class OneGpu : public ::testing::TestWithParam<Case> {};

TEST_P(OneGpu, SameLossesAsCpuPipeline) {
  SKIP_WITHOUT_GPU();
  const Case c = GetParam();
  const uint64_t total = 16;
  const ir::Schedule schedule = Generate(c.kind, c.P, c.M, c.K, total);
  PipelineConfig pc;
  pc.train = testing::TinyTrainConfig();
  const DataSplit data = testing::TinyCorpus();
  Result<PipelineResult> cpu = TrainPipelineThreads(schedule, pc, data, nullptr);
  ASSERT_TRUE(cpu.ok()) << cpu.status().ToString();

  OneGpuConfig gc;
  gc.train = pc.train;
  gc.precision = Precision::kFP32;
  gc.ranges = cpu->partition;
  gc.batch_pool = static_cast<int>(total);  // the same windows, in the same order, as the CPU draws
  Result<std::unique_ptr<OneGpuPipeline>> gpu = OneGpuPipeline::Create(gc, c.P, 1, data);
  ASSERT_TRUE(gpu.ok()) << gpu.status().ToString();
  VectorTraceSink sink;
  Result<OneGpuRunResult> r = (*gpu)->Run(schedule, &sink);
  ASSERT_TRUE(r.ok()) << r.status().ToString();

  ASSERT_EQ(r->update_losses.size(), cpu->updates.size());
  for (size_t u = 0; u < cpu->updates.size(); u++) {
    std::printf("  update %zu: loss cpu %.6f gpu %.6f\n", u + 1, cpu->updates[u].loss(), r->update_losses[u]);
    EXPECT_NEAR(r->update_losses[u], cpu->updates[u].loss(), 1e-3);
  }
  uint64_t ops = 0;
  for (uint32_t s = 0; s < c.P; s++) ops += StageLength(schedule.streams(s));
  EXPECT_EQ(sink.ops.size(), ops);
  EXPECT_EQ(r->microbatches, total);
  EXPECT_GT(r->wall_ms, 0.0);
}

INSTANTIATE_TEST_SUITE_P(Schedules, OneGpu,
                         ::testing::Values(Case{ir::ONE_F_ONE_B_FLUSH, 2, 4, 0}, Case{ir::GPIPE, 3, 4, 0},
                                           Case{ir::ZB_H1, 2, 4, 0}, Case{ir::PACI, 2, 0, 2},
                                           Case{ir::PACI, 4, 0, 1}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return ir::ScheduleKind_Name(info.param.kind) + "_P" + std::to_string(info.param.P);
                         });

TEST(OneGpuPolicies, RefusesWeightStashing) {
  SKIP_WITHOUT_GPU();
  OneGpuConfig gc;
  gc.train = testing::TinyTrainConfig();
  Result<std::unique_ptr<OneGpuPipeline>> gpu = OneGpuPipeline::Create(gc, 2, 1, testing::TinyCorpus());
  ASSERT_TRUE(gpu.ok()) << gpu.status().ToString();
  Result<OneGpuRunResult> r = (*gpu)->Run(Generate(ir::PIPEDREAM, 2, 0, 1, 8), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("PipeDream"), std::string::npos) << r.status().message();
}

// Runs without a GPU: the MFU peak table and the FLOP count.
TEST(OneGpuHost, PeakTableAndFlops) {
  EXPECT_EQ(gpu_bf16_peak_flops("NVIDIA H100 80GB HBM3"), 989e12);
  EXPECT_EQ(gpu_bf16_peak_flops("NVIDIA H200"), 989e12);
  EXPECT_EQ(gpu_bf16_peak_flops("NVIDIA H100 PCIe"), 756e12);
  EXPECT_EQ(gpu_bf16_peak_flops("NVIDIA A100-SXM4-80GB"), 312e12);
  EXPECT_EQ(gpu_bf16_peak_flops("Tesla T4"), 0.0);
  GPTConfig g;  // GPT-2 small: 124M parameters (untied head adds 38.6M)
  g.vocab_size = 50257, g.block_size = 1024, g.n_layer = 12, g.n_head = 12, g.n_embd = 768, g.tie = true;
  const double params = static_cast<double>(gpt_param_layout(g).total);
  EXPECT_NEAR(params, 124.44e6, 0.01e6);
  EXPECT_DOUBLE_EQ(gpt_flops_per_token(g), 6 * params + 6.0 * 12 * 768 * 1024);
}

}  // namespace
}  // namespace paci::exec
