// The pipeline runtime against unpipelined training and against the schedule's version algebra.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <thread>

#include "exec/runtime/pipeline_trainer.h"
#include "exec/runtime/thread_transport.h"
#include "exec/runtime/weight_versions.h"
#include "sched/expanded_schedule.h"
#include "sched/schedule_generator.h"
#include "sched/weight_version_analysis.h"
#include "tiny_setup.h"

namespace paci::exec {
namespace {

using testing::TinyCorpus;
using testing::TinyTrainConfig;

ir::Schedule Generate(ir::ScheduleKind kind, uint32_t P, uint32_t M, uint32_t K, uint64_t total,
                      uint32_t V = 0) {
  ir::PipelineSpec spec;
  spec.set_kind(kind);
  spec.set_stages(P);
  spec.set_microbatches_per_iteration(M);
  spec.set_accum(K);
  spec.set_total_microbatches(total);
  spec.set_chunks(V);
  Result<ir::Schedule> s = GenerateSchedule(spec);
  EXPECT_TRUE(s.ok()) << s.status().message();
  return *s;
}

// Unpipelined training: `updates` updates of `accum` micro-batches each.
std::vector<float> TrainUnpipelined(TrainConfig cfg, int accum, int updates, std::vector<float>* losses) {
  cfg.accum = accum;
  cfg.updates = updates;
  Result<Trainer> tr = trainer_create(cfg, TinyCorpus());
  EXPECT_TRUE(tr.ok()) << tr.status().message();
  for (int i = 0; i < updates; ++i) losses->push_back(trainer_step(&*tr).loss);
  return tr->params;
}

float MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float m = 0.0f;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

struct SyncCase {
  ir::ScheduleKind kind;
  uint32_t stages, chunks;
};

class SyncScheduleTest : public ::testing::TestWithParam<SyncCase> {};

// Tolerance: the pipeline runs the same kernels on the same batches in the same accumulation
// order, so only fp32 reassociation could differ; we allow 1e-6 and in practice see 0.
TEST_P(SyncScheduleTest, SameWeightsAsUnpipelinedAfterTenUpdates) {
  const SyncCase c = GetParam();
  TrainConfig cfg = TinyTrainConfig();
  cfg.model.n_layer = 6;  // 8 slices for 4 stages x 2 chunks
  const uint32_t M = 4;
  std::vector<float> ref_losses;
  const std::vector<float> ref = TrainUnpipelined(cfg, M, 10, &ref_losses);

  PipelineConfig pc;
  pc.train = cfg;
  const ir::Schedule schedule = Generate(c.kind, c.stages, M, 0, 10 * M, c.chunks);
  Result<PipelineResult> r = TrainPipelineThreads(schedule, pc, TinyCorpus(), nullptr);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->updates.size(), 10u);
  const float diff = MaxAbsDiff(r->params, ref);
  std::printf("kind %d P=%u V=%u: max |w_pipeline - w_unpipelined| after 10 updates = %g\n", c.kind, c.stages,
              c.chunks, diff);
  EXPECT_LE(diff, 1e-6f);
  for (int i = 0; i < 10; ++i) EXPECT_NEAR(r->updates[i].loss(), ref_losses[i], 1e-6) << "update " << i;
}

INSTANTIATE_TEST_SUITE_P(Flush, SyncScheduleTest,
                         ::testing::Values(SyncCase{ir::GPIPE, 2, 0}, SyncCase{ir::GPIPE, 4, 0},
                                           SyncCase{ir::ONE_F_ONE_B_FLUSH, 2, 0},
                                           SyncCase{ir::ONE_F_ONE_B_FLUSH, 4, 0},
                                           SyncCase{ir::INTERLEAVED_1F1B, 2, 2},
                                           SyncCase{ir::INTERLEAVED_1F1B, 4, 2}, SyncCase{ir::ZB_H1, 2, 0},
                                           SyncCase{ir::ZB_H1, 4, 0}));

TEST(PaciPipeline, OneStageEqualsGradientAccumulation) {
  const TrainConfig cfg = TinyTrainConfig();
  std::vector<float> ref_losses;
  const std::vector<float> ref = TrainUnpipelined(cfg, 4, 10, &ref_losses);
  PipelineConfig pc;
  pc.train = cfg;
  Result<PipelineResult> r = TrainPipelineThreads(Generate(ir::PACI, 1, 0, 4, 40), pc, TinyCorpus(), nullptr);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(MaxAbsDiff(r->params, ref), 0.0f);
  ASSERT_EQ(r->updates.size(), 10u);
  EXPECT_EQ(static_cast<float>(r->updates.back().loss()), ref_losses.back());
}

// The measured makespan is the ops' span on the stages' shared clock: inside the call's wall time,
// which also holds each stage's set-up (model init, data) and the weights' export.
TEST(PaciPipeline, MeasuredMakespanIsTheSpanOfTheOps) {
  PipelineConfig pc;
  pc.train = TinyTrainConfig();
  Result<PipelineResult> r = TrainPipelineThreads(Generate(ir::PACI, 2, 0, 2, 8), pc, TinyCorpus(), nullptr);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->stages.size(), 2u);
  for (const StageReport& s : r->stages) {
    EXPECT_GE(s.first_op_start_ns, 0);
    EXPECT_GT(s.last_op_end_ns, s.first_op_start_ns);
  }
  EXPECT_GT(r->op_span_seconds, 0.0);
  EXPECT_LT(r->op_span_seconds, r->seconds);
  const int64_t first = std::min(r->stages[0].first_op_start_ns, r->stages[1].first_op_start_ns);
  const int64_t last = std::max(r->stages[0].last_op_end_ns, r->stages[1].last_op_end_ns);
  EXPECT_DOUBLE_EQ(r->op_span_seconds, static_cast<double>(last - first) * 1e-9);
}

// The start line: no stage starts its ops before every stage is set up, so that a stage whose
// set-up is slow does not make the others' first ops wait on it inside the measured makespan (the
// simulator starts every stage at 0). Stage 1's set-up takes 100 ms here; stage 0, which has
// nothing to wait for, would otherwise start its first forward about 100 ms before stage 1 could
// take it.
TEST(PaciPipeline, StagesStartTogetherWhateverTheirSetUpTakes) {
  constexpr auto kSlowSetUp = std::chrono::milliseconds(100);
  PipelineConfig pc;
  pc.train = TinyTrainConfig();
  pc.backend = [&](const BackendRequest& req) {
    if (req.stage == 1) std::this_thread::sleep_for(kSlowSetUp);
    return MakeCpuBackend(req);
  };
  Result<PipelineResult> r =
      TrainPipelineThreads(Generate(ir::ONE_F_ONE_B_FLUSH, 2, 2, 0, 4), pc, TinyCorpus(), nullptr);
  ASSERT_TRUE(r.ok()) << r.status().message();
  for (size_t s = 0; s < r->stages.size(); ++s)
    EXPECT_GE(r->stages[s].first_op_start_ns, std::chrono::nanoseconds(kSlowSetUp).count()) << "stage " << s;
}

// bench/schedule_forward_bench's control (RecordControl: more records, used in rotation) changes
// where activations are written, never what is computed: the same losses and weights, bit for bit.
TEST(RecordControl, RotatedRecordsTrainTheSameWeights) {
  PipelineConfig pc;
  pc.train = TinyTrainConfig();
  const ir::Schedule schedule = Generate(ir::ONE_F_ONE_B_FLUSH, 2, 4, 0, 16);
  Result<PipelineResult> plain = TrainPipelineThreads(schedule, pc, TinyCorpus(), nullptr);
  pc.record_control.min_per_chunk = 4;
  Result<PipelineResult> rotated = TrainPipelineThreads(schedule, pc, TinyCorpus(), nullptr);
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  ASSERT_TRUE(rotated.ok()) << rotated.status().message();
  EXPECT_EQ(MaxAbsDiff(plain->params, rotated->params), 0.0f);
  // Idle records are not the stage's memory in use: the measured peaks stay the schedule's.
  for (size_t s = 0; s < plain->stages.size(); ++s)
    EXPECT_EQ(rotated->stages[s].peak_bytes, plain->stages[s].peak_bytes) << "stage " << s;
  // A control of the CPU backend's records: refused with another backend, not ignored.
  pc.backend = [](const BackendRequest&) -> Result<std::unique_ptr<StageBackend>> {
    return Status::Internal("not reached");
  };
  Result<PipelineResult> other = TrainPipelineThreads(schedule, pc, TinyCorpus(), nullptr);
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("record_control"), std::string::npos) << other.status().message();
}

// (stage, chunk, micro-batch) -> (forward version, backward version) from the sched analysis.
using VersionKey = std::tuple<uint32_t, uint32_t, uint64_t>;
std::map<VersionKey, std::pair<int64_t, int64_t>> AnalysedVersions(const ir::Schedule& s) {
  std::map<VersionKey, std::pair<int64_t, int64_t>> out;
  Result<WeightVersionReport> report = AnalyzeWeightVersions(s, [&](const MicroBatchVersions& v) {
    out[{v.stage, v.chunk, v.micro_batch}] = {v.forward_version, v.backward_version};
  });
  EXPECT_TRUE(report.ok()) << report.status().message();
  return out;
}

TEST(AsyncPipeline, RecordedVersionsEqualTheScheduleAnalysis) {
  const TrainConfig cfg = TinyTrainConfig();
  struct Case {
    ir::ScheduleKind kind;
    uint32_t K;
  };
  for (uint32_t P : {2u, 3u, 4u}) {
    for (Case c :
         {Case{ir::PACI, 1}, Case{ir::PACI, 2}, Case{ir::PACI, 3}, Case{ir::PACI, 8}, Case{ir::PIPEDREAM, 1},
          Case{ir::PIPEDREAM_2BW, 4}, Case{ir::PIPEDREAM_2BW, 5}, Case{ir::PIPEMARE, 2}}) {
      const ir::Schedule s = Generate(c.kind, P, 0, c.K, 4 * std::max(P, c.K));
      PipelineConfig pc;
      pc.train = cfg;
      VectorTraceSink sink;
      Result<PipelineResult> r = TrainPipelineThreads(s, pc, TinyCorpus(), &sink);
      ASSERT_TRUE(r.ok()) << r.status().message();
      const auto expected = AnalysedVersions(s);
      int checked = 0;
      for (const ir::TraceEvent& e : sink.ops) {
        if (e.kind() != ir::FORWARD && e.kind() != ir::BACKWARD) continue;
        auto it = expected.find({e.stage(), e.chunk(), e.micro_batch()});
        ASSERT_NE(it, expected.end());
        const int64_t want = e.kind() == ir::FORWARD ? it->second.first : it->second.second;
        EXPECT_EQ(e.weight_version(), want) << "P=" << P << " K=" << c.K << " kind " << c.kind << " stage "
                                            << e.stage() << " mb " << e.micro_batch();
        ++checked;
      }
      EXPECT_EQ(checked, static_cast<int>(2 * expected.size()));
    }
  }
}

// A PipeDream backward runs with the weights its forward used (a copy kept across the update); a
// PACI backward with the live, already-updated weights and the forward's saved activations.
TEST(WeightVersions, StashKeepsTheForwardVersionLiveDoesNot) {
  for (ir::WeightPolicy policy : {ir::STASH, ir::LIVE_BOUNDED_DRIFT}) {
    WeightVersions wv(policy, 1);
    EXPECT_EQ(wv.BeginForward(1, 0), 0);
    EXPECT_EQ(wv.KeepBeforeStep(), policy == ir::STASH);
    EXPECT_TRUE(wv.AfterStep().empty());
    const int64_t v = wv.BackwardVersion(1, 0);
    if (policy == ir::STASH) {
      EXPECT_EQ(v, 0);
      EXPECT_EQ(wv.VersionsHeld(), 2);
      EXPECT_EQ(wv.EndBackward(1, 0), std::vector<int64_t>{0});  // the copy is dropped
    } else {
      EXPECT_EQ(v, 1);
      EXPECT_EQ(wv.VersionsHeld(), 1);
      EXPECT_TRUE(wv.EndBackward(1, 0).empty());
    }
    EXPECT_EQ(wv.VersionsHeld(), 1);
  }
}

TEST(StageModelSemantics, PaciBackwardUsesLiveWeightsWithSavedActivations) {
  TrainConfig cfg = TinyTrainConfig();
  Result<StageModel> m = StageModel::Create(cfg.model, 1, 3);  // two blocks, mid-pipeline
  ASSERT_TRUE(m.ok());
  const ParamLayout layout = gpt_param_layout(cfg.model);
  std::vector<float> w0(layout.total), w1(layout.total);
  gpt_init_params(cfg.model, layout, 1, w0.data());
  gpt_init_params(cfg.model, layout, 2, w1.data());
  const int B = 2, T = cfg.model.block_size, C = cfg.model.n_embd;
  std::vector<float> x(B * T * C), dy(B * T * C);
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = std::sin(0.1f * i);
    dy[i] = std::cos(0.07f * i);
  }
  StageInput in;
  in.acts = x.data();
  StageSaved saved_old, saved_check;
  std::vector<float> out, dx_mixed, dx_w0;
  const float* W0 = w0.data() + m->param_offset();
  const float* W1 = w1.data() + m->param_offset();
  m->forward(W0, in, B, T, &saved_old, &out);
  saved_check = saved_old;
  m->backward_input(W1, &saved_old, dy.data(), &dx_mixed);  // PACI: live W1, saved from W0
  m->backward_input(W0, &saved_check, dy.data(), &dx_w0);   // consistent (stash) backward
  // The mixed backward must differ from the consistent one: the weights really are the live ones.
  EXPECT_GT(MaxAbsDiff(dx_mixed, dx_w0), 1e-4f);
}

// A stage that never answers: the others end with a DeadlineExceeded naming the stage and op
// they waited at, within the receive timeout, instead of hanging.
TEST(PipelineFailure, SilentPeerEndsTheRunWithinTheTimeout) {
  PipelineConfig pc;
  pc.train = TinyTrainConfig();
  pc.recv_timeout = std::chrono::milliseconds(300);
  pc.fault = {FaultSpec::Kind::kHang, 1, 0};  // stage 1 sends nothing
  const auto t0 = std::chrono::steady_clock::now();
  Result<PipelineResult> r = TrainPipelineThreads(Generate(ir::PACI, 3, 0, 3, 24), pc, TinyCorpus(), nullptr);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kDeadlineExceeded);
  EXPECT_NE(r.status().message().find("from stage 1"), std::string::npos) << r.status().message();
  // Whichever neighbour of stage 1 times out first reports it: stage 0 at 0RECV_B1 or stage 2 at 2RECV_F..
  EXPECT_NE(r.status().message().find("RECV_"), std::string::npos) << r.status().message();
}

// A device error in stage 1 (what the CUDA backend makes of a failing CUDA call, instead of
// exiting the process): the run fails with that error, naming the stage and the op, and the other
// stages are told to stop rather than waiting out the receive timeout. Once in an op whose method
// returns a Status (the stage's first op) and once in the optimizer step, which returns nothing
// and leaves the error for the worker to find (StageBackend::Failure).
TEST(PipelineFailure, DeviceErrorFailsTheRunWithoutExiting) {
  const ir::Schedule schedule = Generate(ir::PACI, 3, 0, 3, 24);
  const std::vector<uint64_t> bases = StageIdBases(schedule);
  uint64_t first_step = 0;  // ops of stage 1 before its first optimizer step
  for (StageOpCursor c(schedule.streams(1), bases[1]); c.Current().kind != ir::OPTIMIZER_STEP; c.Next())
    ++first_step;
  for (const auto& [after, method] :
       {std::pair<uint64_t, std::string>{0, "Recv"}, {first_step, "OptimizerStep"}}) {
    PipelineConfig pc;
    pc.train = TinyTrainConfig();
    pc.recv_timeout = std::chrono::milliseconds(20000);  // far beyond the 5 s allowed below
    pc.fault = {FaultSpec::Kind::kDevice, 1, after};
    const auto t0 = std::chrono::steady_clock::now();
    Result<PipelineResult> r = TrainPipelineThreads(schedule, pc, TinyCorpus(), nullptr);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5)) << method;
    ASSERT_FALSE(r.ok()) << method;
    EXPECT_EQ(r.status().code(), Status::Code::kInternal) << r.status().message();
    EXPECT_NE(r.status().message().find("injected device failure in " + method), std::string::npos)
        << r.status().message();
    EXPECT_NE(r.status().message().find("stage 1: op"), std::string::npos) << r.status().message();
  }
}

TEST(FaultSpecParse, NamesTheFlagOnBadInput) {
  EXPECT_TRUE(ParseFaultSpec("hang:2:10").ok());
  Result<FaultSpec> device = ParseFaultSpec("device:1:7");
  ASSERT_TRUE(device.ok());
  EXPECT_EQ(device->kind, FaultSpec::Kind::kDevice);
  EXPECT_EQ(device->after_sends, 7u);
  Result<FaultSpec> bad = ParseFaultSpec("explode:1");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("--inject-fault"), std::string::npos);
}

}  // namespace
}  // namespace paci::exec
