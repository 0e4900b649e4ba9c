// The staleness compensations (sched/staleness.h, docs/method.md §6), correct by construction:
// each formula on a hand-checked case, the rewind's estimate on a quadratic with known drift
// against the error bound it predicts, a compensation with nothing to correct equal to plain PACI
// bit for bit, and the one-layer estimate buffer as the only memory it adds.
#include "sched/staleness.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "exec/model/adamw.h"
#include "exec/runtime/pipeline_trainer.h"
#include "exec/runtime/staleness_math.h"
#include "exec/runtime/weight_estimate.h"
#include "sched/schedule_generator.h"
#include "sched/staleness_check.h"
#include "tiny_setup.h"

namespace paci::exec {
namespace {

using testing::TinyCorpus;
using testing::TinyTrainConfig;

// AdamW after one step with moments set by hand: bc1 = 0.1, bc2 = 0.05, so m_hat = (1, -2) and
// v_hat = (0.8, 0.2); eps 0 keeps the hand arithmetic exact.
AdamStep HandStep(std::vector<float>* m, std::vector<float>* v, std::vector<uint8_t>* decay) {
  *m = {0.1f, -0.2f};
  *v = {0.04f, 0.01f};
  *decay = {1, 0};
  AdamStep s;
  s.m = m->data(), s.v = v->data(), s.decay = decay->data();
  s.lr = 0.01f, s.weight_decay = 0.1f, s.bc1 = 0.1f, s.bc2 = 0.05f, s.eps = 0.0f;
  return s;
}

TEST(StalenessMath, RewindAndPredictOnAHandCheckedCase) {
  std::vector<float> m, v;
  std::vector<uint8_t> decay;
  const AdamStep s = HandStep(&m, &v, &decay);
  const std::vector<float> w = {2.0f, 3.0f};
  // step = lr (m_hat / sqrt(v_hat) + wd w): 0.01 (1 / 0.894427 + 0.2) = 0.0131803,
  // 0.01 (-2 / 0.447214) = -0.0447214 (no decay on the second).
  EXPECT_NEAR(s.At(0, w[0]), 0.0131803f, 1e-6f);
  EXPECT_NEAR(s.At(1, w[1]), -0.0447214f, 1e-6f);
  std::vector<float> out(2);
  adam_weight_estimate(out.data(), w.data(), s, 2.0f, 2);  // rewind 2 updates
  EXPECT_NEAR(out[0], 2.0263607f, 1e-6f);
  EXPECT_NEAR(out[1], 2.9105573f, 1e-6f);
  adam_weight_estimate(out.data(), w.data(), s, -1.0f, 2);  // predict 1 update ahead
  EXPECT_NEAR(out[0], 1.9868197f, 1e-6f);
  EXPECT_NEAR(out[1], 3.0447214f, 1e-6f);
}

TEST(StalenessMath, DelayCompensationOnAHandCheckedCase) {
  std::vector<float> m, v;
  std::vector<uint8_t> decay;
  const AdamStep s = HandStep(&m, &v, &decay);
  const std::vector<float> w = {2.0f, 3.0f};
  std::vector<float> g = {0.5f, -0.1f};
  delay_compensate(g.data(), w.data(), s, 2.0f, 3.0f, 2);
  // g -= lambda stale g^2 / sqrt(v_hat) step: 0.5 - 6 x 0.25 / 0.894427 x 0.0131803 = 0.4778963;
  // -0.1 - 6 x 0.01 / 0.447214 x (-0.0447214) = -0.094.
  EXPECT_NEAR(g[0], 0.4778963f, 1e-6f);
  EXPECT_NEAR(g[1], -0.094f, 1e-6f);
}

// AdamW on f(w) = sum h_i (w_i - c_i)^2 / 2, recording every iterate. The rewind's estimate of
// w_{t-d} is w_t + d x step_t; the true one is w_t + sum_{j<d} step_{t-j}. So it is exact for
// d = 1 (the moments define the last step) and wrong by at most d (d - 1) / 2 x the largest change
// between consecutive steps for d > 1: an error second order in the step's change, where leaving
// the weights alone is wrong by the whole sum.
TEST(StalenessMath, RewindErrorOnAQuadraticWithinThePredictedBound) {
  const size_t n = 64;
  ParamLayout layout;
  layout.layer_offset = {0, n};
  AdamWConfig cfg;
  cfg.weight_decay = 0.0f;
  AdamW opt = adamw_create(cfg, layout, 0, n);
  std::vector<float> w(n), h(n), c(n), g(n);
  for (size_t i = 0; i < n; ++i) {
    h[i] = 0.5f + static_cast<float>(i % 7);
    c[i] = std::sin(static_cast<float>(i));
    w[i] = 2.0f * std::cos(static_cast<float>(3 * i));
  }
  const float lr = 0.01f;
  std::vector<std::vector<float>> history = {w};
  for (int t = 0; t < 60; ++t) {
    for (size_t i = 0; i < n; ++i) g[i] = h[i] * (w[i] - c[i]);
    adamw_update(&opt, w.data(), g.data(), lr);
    history.push_back(w);
  }
  const size_t T = history.size() - 1;
  double max_change = 0;  // the largest change of one parameter's step over the last 5 steps
  for (size_t t = T - 4; t <= T; ++t)
    for (size_t i = 0; i < n; ++i) {
      const double step = history[t - 1][i] - history[t][i], before = history[t - 2][i] - history[t - 1][i];
      max_change = std::max(max_change, std::fabs(step - before));
    }
  const AdamStep s = AdamStepOf(opt, 0, lr);
  std::vector<float> estimate(n);
  for (int d = 1; d <= 4; ++d) {
    adam_weight_estimate(estimate.data(), w.data(), s, static_cast<float>(d), n);
    double err = 0, uncompensated = 0;
    for (size_t i = 0; i < n; ++i) {
      err = std::max(err, std::fabs(double(estimate[i]) - history[T - d][i]));
      uncompensated = std::max(uncompensated, std::fabs(double(w[i]) - history[T - d][i]));
    }
    const double rounding = 4e-7 * (1 + d);  // float arithmetic on weights of order 1
    const double bound = d * (d - 1) / 2.0 * max_change + rounding;
    std::printf("d=%d: rewind error %.3g (bound %.3g), uncompensated %.3g\n", d, err, bound, uncompensated);
    EXPECT_LE(err, bound) << "d = " << d;
    EXPECT_LT(err, 0.2 * uncompensated) << "d = " << d;
  }
}

ir::Schedule Paci(uint32_t P, uint32_t K, uint64_t updates) {
  ir::PipelineSpec spec;
  spec.set_kind(ir::PACI);
  spec.set_stages(P);
  spec.set_accum(K);
  spec.set_total_microbatches(updates * K);
  Result<ir::Schedule> s = GenerateSchedule(spec);
  EXPECT_TRUE(s.ok()) << s.status().message();
  return *s;
}

PipelineResult Train(const ir::Schedule& schedule, Staleness staleness) {
  PipelineConfig pc;
  pc.train = TinyTrainConfig();
  pc.staleness = staleness;
  Result<PipelineResult> r = TrainPipelineThreads(schedule, pc, TinyCorpus(), nullptr);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? std::move(*r) : PipelineResult{};
}

bool BitIdentical(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// With A = 0 every compensation has nothing to correct: rewind and predict estimate w + 0 x step
// layer by layer through the estimate buffer, delay-comp subtracts 0 from the gradient, the lr
// kinds divide by 1. All must give plain PACI's weights bit for bit.
TEST(Staleness, NothingToCorrectIsPlainPaciBitForBit) {
  const ir::Schedule schedule = Paci(4, 2, 8);  // stages 0-2 drift
  const PipelineResult plain = Train(schedule, {});
  ASSERT_FALSE(plain.params.empty());
  for (StalenessKind kind : {StalenessKind::kRewind, StalenessKind::kPredict, StalenessKind::kDelayComp,
                             StalenessKind::kStageLr, StalenessKind::kDriftLrScale}) {
    const PipelineResult r = Train(schedule, Staleness{kind, 0.0});
    EXPECT_TRUE(BitIdentical(r.params, plain.params)) << StalenessName(kind);
  }
}

// The estimate path itself (not a short cut for k = 0): an AdamW with zero moments and no decay
// has a zero step, so the estimate is each layer copied into the buffer. The backward through it
// must equal the backward on the weights themselves, bit for bit.
TEST(Staleness, LayerByLayerEstimateOfAZeroStepIsTheWeights) {
  TrainConfig cfg = TinyTrainConfig();
  Result<StageModel> model = StageModel::Create(cfg.model, 1, gpt_num_layers(cfg.model));  // blocks + head
  ASSERT_TRUE(model.ok());
  const ParamLayout layout = gpt_param_layout(cfg.model);
  std::vector<float> params(layout.total);
  for (size_t i = 0; i < params.size(); ++i) params[i] = 0.02f * std::sin(static_cast<float>(i));
  const float* w = params.data() + model->param_offset();
  AdamWConfig acfg;
  acfg.weight_decay = 0;
  AdamW opt = adamw_create(acfg, layout, model->param_offset(), model->num_params());
  opt.step = 1;  // a step has happened, with zero moments
  const int B = cfg.B, T = cfg.model.block_size, C = cfg.model.n_embd;
  std::vector<float> acts(static_cast<size_t>(B) * T * C), out;
  std::vector<int> targets(static_cast<size_t>(B) * T);
  for (size_t i = 0; i < acts.size(); ++i) acts[i] = std::cos(static_cast<float>(i));
  for (size_t i = 0; i < targets.size(); ++i) targets[i] = static_cast<int>(i * 31 % cfg.model.vocab_size);
  StageInput in;
  in.acts = acts.data();
  in.targets = targets.data();
  StageSaved a, b;
  model->forward(w, in, B, T, &a, &out);
  model->forward(w, in, B, T, &b, &out);
  std::vector<float> buffer, dplain, destimate;
  const float dloss = 0.5f;
  model->backward_input(w, &a, &dloss, &dplain);
  const AdamWeightEstimate estimate(*model, w, opt, 0.01f, 3.0f, /*forward=*/false, &buffer);
  model->backward_input(estimate, &b, &dloss, &destimate);
  EXPECT_EQ(buffer.size(), model->layer_params(model->first()));  // the first block: the last one asked for
  EXPECT_TRUE(BitIdentical(dplain, destimate));
}

// Every compensation changes training where it has something to correct, the same way each time.
TEST(Staleness, EachCompensationActsAndIsDeterministic) {
  const ir::Schedule schedule = Paci(4, 2, 8);
  const PipelineResult plain = Train(schedule, {});
  for (StalenessKind kind : {StalenessKind::kRewind, StalenessKind::kPredict, StalenessKind::kDelayComp,
                             StalenessKind::kStageLr}) {
    const Staleness s{kind, kind == StalenessKind::kDelayComp ? 100.0 : 1.0};
    const PipelineResult a = Train(schedule, s), b = Train(schedule, s);
    EXPECT_FALSE(BitIdentical(a.params, plain.params)) << StalenessName(kind);
    EXPECT_TRUE(BitIdentical(a.params, b.params)) << StalenessName(kind);
    EXPECT_TRUE(std::isfinite(a.val_loss)) << StalenessName(kind);
  }
}

// Persistent memory is plain PACI's: rewind adds one layer's estimate buffer, only on stages
// where something drifts, and nothing else.
TEST(Staleness, RewindAddsOneLayerOnDriftingStagesOnly) {
  const ir::Schedule schedule = Paci(4, 3, 6);  // stages 0-2 drift, stage 3 does not
  TrainConfig cfg = TinyTrainConfig();
  const PipelineResult plain = Train(schedule, {});
  const PipelineResult rewind = Train(schedule, Staleness{StalenessKind::kRewind, 1.0});
  ASSERT_EQ(plain.stages.size(), 4u);
  ASSERT_EQ(rewind.stages.size(), 4u);
  for (uint32_t s = 0; s < 4; ++s) {
    const LayerRange r = plain.partition[s];
    Result<StageModel> m = StageModel::Create(cfg.model, r.first, r.last);
    ASSERT_TRUE(m.ok());
    const uint64_t layer = AdamWeightEstimate::LargestLayer(*m, /*forward=*/false) * sizeof(float);
    const uint64_t expected = plain.stages[s].peak_bytes + (s < 3 ? layer : 0);
    EXPECT_EQ(rewind.stages[s].peak_bytes, expected) << "stage " << s;
  }
}

TEST(Staleness, AppliesOnlyWhereWeightsMove) {
  ir::PipelineSpec spec;
  spec.set_kind(ir::ONE_F_ONE_B_FLUSH);
  spec.set_stages(4);
  spec.set_microbatches_per_iteration(4);
  spec.set_total_microbatches(16);
  Result<ir::Schedule> flush = GenerateSchedule(spec);
  ASSERT_TRUE(flush.ok());
  for (StalenessKind kind : {StalenessKind::kRewind, StalenessKind::kPredict, StalenessKind::kDelayComp,
                             StalenessKind::kStageLr, StalenessKind::kDriftLrScale}) {
    const Status st = CheckStalenessApplies(Staleness{kind, 1.0}, *flush, "--staleness");
    EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << StalenessName(kind);
    EXPECT_NE(st.message().find("--staleness"), std::string::npos) << st.message();
    EXPECT_TRUE(CheckStalenessApplies(Staleness{kind, 1.0}, Paci(4, 2, 4), "--staleness").ok());
  }
}

TEST(Staleness, TextFormsReadBack) {
  for (const char* text : {"rewind=1", "predict=0.5", "delay-comp=100", "stage-lr=2", "drift-lr-scale=1"}) {
    Result<Staleness> s = ParseStaleness(text);
    ASSERT_TRUE(s.ok()) << text;
    EXPECT_EQ(StalenessText(*s), text);
  }
  EXPECT_EQ(ParseStaleness("rewind")->param, 1.0);
  EXPECT_FALSE(ParseStaleness("rewind=").ok());
  EXPECT_FALSE(ParseStaleness("rewind=-1").ok());
  EXPECT_FALSE(ParseStaleness("rewind=inf").ok());
  EXPECT_FALSE(ParseStaleness("stash").ok());
  EXPECT_NE(ParseStaleness("stash").status().message().find("rewind"), std::string::npos);
  Result<ScheduleVariant> v = ParseScheduleVariant("paci+rewind=1");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->schedule, "paci");
  EXPECT_EQ(ScheduleVariantText(*v), "paci+rewind=1");
  EXPECT_EQ(ScheduleVariantText(*ParseScheduleVariant("paci+drift-lr-scale=1.0")), "paci+drift-lr-scale=1");
}

}  // namespace
}  // namespace paci::exec
