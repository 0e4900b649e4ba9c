// The stage worker's asynchronous path, the one a GPU takes, driven by the CPU backend on a
// CpuStream: ops are enqueued, and their times, live bytes and losses are read back once they
// have completed. Every schedule must give the same losses, bit for bit, as the synchronous CPU
// path, and report every op exactly once, in stream order, with consistent times.
#include <gtest/gtest.h>

#include <map>

#include "exec/runtime/cpu_backend.h"
#include "exec/runtime/pipeline_trainer.h"
#include "sched/expanded_schedule.h"
#include "sched/schedule_generator.h"
#include "tiny_setup.h"

namespace paci::exec {
namespace {

ir::Schedule Generate(ir::ScheduleKind kind, uint32_t P, uint32_t K, uint64_t updates) {
  ir::PipelineSpec spec;
  spec.set_kind(kind);
  spec.set_stages(P);
  if (kind == ir::INTERLEAVED_1F1B) spec.set_chunks(2);
  const bool flush =
      kind == ir::GPIPE || kind == ir::ONE_F_ONE_B_FLUSH || kind == ir::INTERLEAVED_1F1B || kind == ir::ZB_H1;
  if (flush)
    spec.set_microbatches_per_iteration(K);
  else
    spec.set_accum(kind == ir::PIPEDREAM ? 1 : K);
  spec.set_total_microbatches(updates * (kind == ir::PIPEDREAM ? 1 : K));
  Result<ir::Schedule> s = GenerateSchedule(spec);
  EXPECT_TRUE(s.ok()) << s.status().message();
  return *s;
}

TEST(DeferredTiming, EveryScheduleSameLossesAsTheSynchronousPath) {
  for (ir::ScheduleKind kind : {ir::GPIPE, ir::ONE_F_ONE_B_FLUSH, ir::INTERLEAVED_1F1B, ir::ZB_H1,
                                ir::PIPEDREAM, ir::PIPEDREAM_2BW, ir::PIPEMARE, ir::PACI}) {
    const ir::Schedule s = Generate(kind, 2, 2, 6);
    PipelineConfig sync_cfg;
    sync_cfg.train = testing::TinyTrainConfig();
    PipelineConfig async_cfg = sync_cfg;
    async_cfg.cpu_async = true;
    VectorTraceSink sync_sink, async_sink;
    Result<PipelineResult> a = TrainPipelineThreads(s, sync_cfg, testing::TinyCorpus(), &sync_sink);
    Result<PipelineResult> b = TrainPipelineThreads(s, async_cfg, testing::TinyCorpus(), &async_sink);
    ASSERT_TRUE(a.ok()) << a.status().message();
    ASSERT_TRUE(b.ok()) << b.status().message();
    ASSERT_EQ(a->updates.size(), b->updates.size()) << kind;
    for (size_t u = 0; u < a->updates.size(); ++u) {
      EXPECT_EQ(a->updates[u].loss(), b->updates[u].loss()) << kind << " update " << u + 1;
      EXPECT_EQ(a->updates[u].tokens(), b->updates[u].tokens());
    }
    EXPECT_EQ(a->params, b->params) << kind;
    EXPECT_EQ(a->val_loss, b->val_loss) << kind;

    // Every op once, in each stage's stream order, times ordered and within the run.
    ASSERT_EQ(async_sink.ops.size(), sync_sink.ops.size()) << kind;
    const std::vector<uint64_t> bases = StageIdBases(s);
    std::map<uint32_t, int64_t> last_end;
    std::map<uint32_t, StageOpCursor> cursors;
    for (uint32_t st = 0; st < s.spec().stages(); ++st)
      cursors.emplace(st, StageOpCursor(s.streams(st), bases[st]));
    for (const ir::TraceEvent& e : async_sink.ops) {
      StageOpCursor& c = cursors.at(e.stage());
      ASSERT_FALSE(c.Done());
      EXPECT_EQ(e.op_id(), c.Current().id) << "stage " << e.stage();
      c.Next();
      EXPECT_LE(e.start_ns(), e.end_ns());
      EXPECT_GE(e.start_ns(), last_end[e.stage()]);  // one stream per stage: no overlap
      last_end[e.stage()] = e.end_ns();
      EXPECT_GT(e.live_bytes(), 0u);
    }
    for (auto& [st, c] : cursors) EXPECT_TRUE(c.Done()) << "stage " << st << " has unreported ops";
  }
}

// The backend alone: an op's times and loss are there once it has completed, not before it
// was issued, and the stream runs ops in order.
TEST(DeferredTiming, BackendReportsTimesAndLossOnCompletion) {
  const TrainConfig cfg = testing::TinyTrainConfig();
  const ParamLayout layout = gpt_param_layout(cfg.model);
  std::vector<float> params(layout.total), grads(layout.total, 0.0f);
  gpt_init_params(cfg.model, layout, cfg.seed, params.data());
  CpuBackendSetup setup;
  setup.model = cfg.model;
  setup.B = cfg.B;
  setup.chunks = {{0, gpt_num_layers(cfg.model)}};
  setup.params = params.data();
  setup.grads = grads.data();
  setup.async = true;
  setup.origin = std::chrono::steady_clock::now();
  Result<std::unique_ptr<CpuBackend>> backend = CpuBackend::Create(setup);
  ASSERT_TRUE(backend.ok());
  const DataSplit data = testing::TinyCorpus();
  Sampler sampler;
  sampler.rng.state = 1;
  const size_t n = static_cast<size_t>(cfg.B) * cfg.model.block_size;
  std::vector<int> tok(n), tgt(n);
  std::vector<uint64_t> timers;
  for (uint64_t mb = 1; mb <= 3; ++mb) {
    sampler_next(&sampler, data.train, cfg.B, cfg.model.block_size, tok.data(), tgt.data());
    timers.push_back((*backend)->BeginOp());
    ASSERT_TRUE((*backend)->Forward({mb, 0}, 0, 0, tok.data(), tgt.data()).ok());
    (*backend)->EndOp(timers.back());
  }
  OpTimes prev, t;
  for (uint64_t timer : timers) {
    ASSERT_TRUE((*backend)->OpTimesIfDone(timer, true, &t));
    EXPECT_LE(t.start_ns, t.end_ns);
    EXPECT_GE(t.start_ns, prev.end_ns);
    prev = t;
  }
  float losses[3];
  (*backend)->ReadLosses(0, 3, losses);
  for (float l : losses) EXPECT_NEAR(l, std::log(256.0f), 0.5f);
  // A failing op is reported by a later call: a backward of a micro-batch never forwarded.
  ASSERT_TRUE((*backend)->Backward({9, 0}, 0, 0, 1.0f, true).ok());
  (*backend)->Synchronize();
  EXPECT_FALSE((*backend)->BackwardWeight({1, 0}).ok());
}

}  // namespace
}  // namespace paci::exec
