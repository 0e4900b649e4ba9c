// The CUDA backend under the same stage worker as the CPU: every schedule and weight policy
// (flush, interleaved chunks, PipeDream stash, 2BW, PipeMare, PACI), all stages on one GPU with one stream
// each, against the CPU pipeline runtime: the same schedule IR, model, seed and batches give the same
// per-update losses (fp32: 1e-4 relative, as accumulation orders differ), every op is traced once with GPU
// times. Skips without a GPU; the host parts (peak table, FLOP count) run everywhere.
#include <gtest/gtest.h>

#include <cmath>
#include <ostream>

#include "exec/cuda/cuda_backend.h"
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
  if (kind == ir::INTERLEAVED_1F1B) spec.set_chunks(2);  // two chunks per stage: records per chunk
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

class CudaBackendPipeline : public ::testing::TestWithParam<Case> {};

TEST_P(CudaBackendPipeline, SameLossesAsCpuPipeline) {
  SKIP_WITHOUT_GPU();
  const Case c = GetParam();
  const ir::Schedule schedule = Generate(c.kind, c.P, c.M, c.K, 16);
  PipelineConfig pc;
  pc.train = testing::TinyTrainConfig();
  const DataSplit data = testing::TinyCorpus();
  Result<PipelineResult> cpu = TrainPipelineThreads(schedule, pc, data, nullptr);
  ASSERT_TRUE(cpu.ok()) << cpu.status().ToString();

  pc.backend = CudaBackendFactory(ir::PRECISION_FP32);
  VectorTraceSink sink;
  Result<PipelineResult> gpu = TrainPipelineThreads(schedule, pc, data, &sink);
  ASSERT_TRUE(gpu.ok()) << gpu.status().ToString();
  ASSERT_EQ(gpu->updates.size(), cpu->updates.size());
  double worst = 0;
  for (size_t u = 0; u < cpu->updates.size(); ++u) {
    const double rel =
        std::fabs(gpu->updates[u].loss() - cpu->updates[u].loss()) / std::fabs(cpu->updates[u].loss());
    worst = std::max(worst, rel);
  }
  std::printf("  %s: %zu updates, max relative loss difference GPU vs CPU %.3g (tolerance 1e-4)\n",
              ir::ScheduleKind_Name(c.kind).c_str(), cpu->updates.size(), worst);
  EXPECT_LE(worst, 1e-4);
  uint64_t ops = 0;
  for (uint32_t s = 0; s < c.P; ++s) ops += StageLength(schedule.streams(s));
  EXPECT_EQ(sink.ops.size(), ops);
  for (const ir::TraceEvent& e : sink.ops) EXPECT_LE(e.start_ns(), e.end_ns());
}

INSTANTIATE_TEST_SUITE_P(Schedules, CudaBackendPipeline,
                         ::testing::Values(Case{ir::ONE_F_ONE_B_FLUSH, 2, 4, 0}, Case{ir::GPIPE, 3, 4, 0},
                                           Case{ir::INTERLEAVED_1F1B, 2, 4, 0}, Case{ir::ZB_H1, 2, 4, 0},
                                           Case{ir::PACI, 2, 0, 4}, Case{ir::PACI, 3, 0, 2},
                                           Case{ir::PIPEDREAM, 2, 0, 1}, Case{ir::PIPEDREAM_2BW, 2, 0, 2},
                                           Case{ir::PIPEMARE, 2, 0, 2}));

// Runs without a GPU: the MFU peak table and the FLOP count.
TEST(CudaHost, PeakTableAndFlops) {
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
