// Point identity, a study's runs grouped into configurations, the report's final-loss statistics
// and the ranking by predicted time to a target loss, on real SQLite stores written here through
// the store library (no `paci` process, no mock).
#include "study/study_configuration.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sched/staleness.h"
#include "sim/sweep.h"
#include "sim/update_timing.h"
#include "store/metric_keys.h"
#include "store/run_record_json.h"
#include "store/trace_store.h"
#include "study/study_ranking.h"
#include "study/study_report.h"
#include "tests/sim/sim_test_util.h"
#include "tests/store/store_test_util.h"

namespace paci::study {
namespace {

struct RunSpec {
  std::string schedule = "paci";
  int64_t stages = 2, accum = 4, seed = 1;
  double lr = 1e-3;
  std::string setup = R"({"model":{"layers":2},"updates":100})";
  std::vector<double> loss;  // per update; tokens = update x 512 x accum
  double val_loss = NAN;
  store::RunStatus status = store::RunStatus::kComplete;
  store::RunKind kind = store::RunKind::kMeasured;
};

ir::ScheduleKind KindOf(const std::string& name) {
  return name == "1f1b-flush" ? ir::ONE_F_ONE_B_FLUSH : name == "gpipe" ? ir::GPIPE : ir::PACI;
}

void WriteRun(store::TraceStore& db, const RunSpec& r) {
  store::RunInfo info;
  info.kind = r.kind;
  info.name = "renamed by hand";  // identity never comes from the name
  info.spec = *sim::SweepSpec(KindOf(r.schedule), static_cast<uint32_t>(r.stages),
                              static_cast<uint32_t>(r.accum), 0, 1);
  info.description = r.setup;
  info.config.schedule = r.schedule;
  info.config.stages = r.stages;
  info.config.accum = r.accum;
  info.config.microbatch_size = 8;
  info.config.tokens_per_update = 512 * r.accum;
  info.config.lr = r.lr;
  info.config.seed = r.seed;
  info.config.device = "cpu";
  info.config.precision = "fp32";
  Result<store::RunWriter> w = db.BeginRun(info);
  ASSERT_TRUE(w.ok()) << w.status().message();
  for (size_t u = 0; u < r.loss.size(); ++u) {
    ir::UpdateMetric m;
    m.set_update(u + 1);
    m.set_loss(r.loss[u]);
    m.set_val_loss(NAN);
    m.set_tokens((u + 1) * 512 * static_cast<uint64_t>(r.accum));
    w->OnUpdate(m);
  }
  if (!std::isnan(r.val_loss)) {
    ASSERT_TRUE(w->SetMetric(store::metric::kValLoss, r.val_loss).ok());
  }
  ASSERT_TRUE(w->Finish(r.status).ok());
}

// loss(u) = 10 - rate x u for 200 updates: the smoothed curve reaches 5 at u = ceil(5 / rate + 4.5).
std::vector<double> Line(double rate) {
  std::vector<double> v;
  for (int u = 1; u <= 200; ++u) v.push_back(10.0 - rate * u);
  return v;
}

class StudyStore : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<store::TraceStore> s = store::TraceStore::Open(dir_.File("study.db"));
    ASSERT_TRUE(s.ok()) << s.status().message();
    db_.emplace(std::move(*s));
  }
  std::vector<StudyConfiguration> Load() {
    Result<std::vector<StudyConfiguration>> c = LoadStudy(*db_);
    EXPECT_TRUE(c.ok()) << c.status().message();
    return c.ok() ? *c : std::vector<StudyConfiguration>{};
  }
  store::testing::TempDir dir_;
  std::optional<store::TraceStore> db_;
};

TEST(StudyPoint, IdentityIsColumnsAndSetup) {
  store::RunRecord run;
  run.info.config.schedule = "paci";
  run.info.config.stages = 2;
  run.info.config.accum = 4;
  run.info.config.microbatch_size = 8;
  run.info.config.tokens_per_update = 2048;
  run.info.config.lr = 1e-3;
  run.info.config.seed = 7;
  // An untyped record of an earlier version, read as the store reads every description.
  run.info.description =
      R"({"model":{"layers":2},"updates":100,"host_note":"not part of the setup","drift_lr_scale":0.5})";
  run.info.setup = store::RunSetupFromDescription(run.info.description);
  const std::optional<StudyPoint> p = PointOfRun(run);
  ASSERT_TRUE(p.has_value());
  // Only what the record keeps: the host note is gone; the model is always whole in the record.
  EXPECT_EQ(
      p->setup,
      R"({"drift_lr_scale":0.5,"model":{"dim":0,"heads":0,"layers":2,"seq":0,"tie":false,"vocab":0},"updates":100})");
  EXPECT_EQ(VariantName(*p), "paci+drift-lr-scale=0.5");
  EXPECT_EQ(ConfigurationLabel(*p), "paci+drift-lr-scale=0.5 P=2 K=4 lr=0.001 b=8 tokens/update=2048");
  EXPECT_EQ(SharedSetup(p->setup),
            R"({"model":{"dim":0,"heads":0,"layers":2,"seq":0,"tie":false,"vocab":0},"updates":100})");

  StudyPoint q = *p;
  q.config.seed = 8;
  EXPECT_FALSE(SamePoint(*p, q));
  EXPECT_TRUE(SamePoint(*p, q, /*ignore_seed=*/true));
  q.config.device = "cpu";  // an old run says nothing: it was on the CPU in fp32
  q.config.precision = "fp32";
  EXPECT_TRUE(SamePoint(*p, q, true));
  q.config.precision = "bf16";
  EXPECT_FALSE(SamePoint(*p, q, true));
  q = *p;
  q.setup = R"({"drift_lr_scale":0.5,"updates":200})";
  EXPECT_FALSE(SamePoint(*p, q, true));

  store::RunRecord no_lr = run;
  no_lr.info.config.lr.reset();  // an unpipelined run or a simulation
  EXPECT_FALSE(PointOfRun(no_lr).has_value());
  store::RunRecord free_text = run;
  free_text.info.description = "sweep point: metrics only";
  free_text.info.setup = store::RunSetupFromDescription(free_text.info.description);
  EXPECT_FALSE(PointOfRun(free_text).has_value());
}

TEST_F(StudyStore, GroupsSeedsIntoConfigurations) {
  WriteRun(*db_, {.schedule = "1f1b-flush", .seed = 1, .loss = Line(0.05), .val_loss = 3.10});
  WriteRun(*db_, {.schedule = "1f1b-flush", .seed = 2, .loss = Line(0.05), .val_loss = 3.14});
  WriteRun(*db_, {.schedule = "paci", .seed = 1, .loss = Line(0.05), .val_loss = 3.16});
  WriteRun(*db_, {.schedule = "paci", .seed = 2, .loss = Line(0.05), .val_loss = 3.17});
  WriteRun(*db_, {.schedule = "paci", .seed = 3, .loss = Line(0.05), .status = store::RunStatus::kFailed});
  WriteRun(*db_, {.schedule = "paci", .seed = 4, .loss = Line(0.05), .kind = store::RunKind::kPredicted});
  WriteRun(*db_, {.schedule = "paci",
                  .seed = 1,
                  .setup = R"({"model":{"layers":2},"updates":100,"drift_lr_scale":1.0})",
                  .loss = Line(0.05)});
  const std::vector<StudyConfiguration> c = Load();
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].label, "1f1b-flush P=2 K=4 lr=0.001 b=8 tokens/update=2048");
  EXPECT_EQ(c[1].label, "paci P=2 K=4 lr=0.001 b=8 tokens/update=2048");
  EXPECT_EQ(c[2].label, "paci+drift-lr-scale=1.0 P=2 K=4 lr=0.001 b=8 tokens/update=2048");
  EXPECT_EQ(c[0].runs.size(), 2u);
  EXPECT_EQ(c[1].runs.size(), 2u);  // the failed and the predicted run are not part of it
  EXPECT_EQ(c[1].runs[1].seed, 2);
  EXPECT_EQ(c[1].TrainCurves()[0].tokens[1], 2 * 2048.0);
  EXPECT_TRUE(std::isnan(c[2].runs[0].final_val_loss));
  EXPECT_TRUE(IsFlushBaselineOf(c[0], c[1]));
  EXPECT_TRUE(IsFlushBaselineOf(c[0], c[2]));  // the mitigation's knob is not part of the pairing
  EXPECT_FALSE(IsFlushBaselineOf(c[1], c[0]));
  EXPECT_EQ(FlushOf(c, c[2]), &c[0]);
}

// Both labels carry their setup (before this library the first relabelled configuration made the
// second's label unique again, so only one of them said which setup it was).
TEST_F(StudyStore, EqualColumnsDifferentSetupsAreToldApart) {
  WriteRun(*db_, {.setup = R"({"model":{"layers":2},"updates":100})", .loss = Line(0.05)});
  WriteRun(*db_, {.setup = R"({"model":{"layers":2},"updates":200})", .loss = Line(0.05)});
  WriteRun(*db_, {.seed = 2, .setup = R"({"model":{"layers":2},"updates":100})", .loss = Line(0.05)});
  const std::vector<StudyConfiguration> c = Load();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(
      c[0].label,
      R"(paci P=2 K=4 lr=0.001 b=8 tokens/update=2048 {"model":{"dim":0,"heads":0,"layers":2,"seq":0,"tie":false,"vocab":0},"updates":100})");
  EXPECT_EQ(
      c[1].label,
      R"(paci P=2 K=4 lr=0.001 b=8 tokens/update=2048 {"model":{"dim":0,"heads":0,"layers":2,"seq":0,"tie":false,"vocab":0},"updates":200})");
  EXPECT_EQ(c[0].runs.size(), 2u);
  EXPECT_EQ(FlushOf(c, c[0]), nullptr);
}

// Final losses: flush 3.10, 3.14 and PACI 3.16, 3.17 on seeds 1 and 2. PACI's mean 3.165; gaps
// paired by seed 0.06 and 0.03: mean 0.045, sd 0.015 sqrt(2), half t(1) x 0.015 = 0.190593.
TEST_F(StudyStore, FinalLossAndGapToFlushPairedBySeed) {
  WriteRun(*db_, {.schedule = "1f1b-flush", .seed = 1, .loss = Line(0.05), .val_loss = 3.10});
  WriteRun(*db_, {.schedule = "1f1b-flush", .seed = 2, .loss = Line(0.05), .val_loss = 3.14});
  WriteRun(*db_, {.schedule = "paci", .seed = 2, .loss = Line(0.05), .val_loss = 3.17});
  WriteRun(*db_, {.schedule = "paci", .seed = 1, .loss = Line(0.05), .val_loss = 3.16});
  const std::vector<StudyConfiguration> c = Load();
  ASSERT_EQ(c.size(), 2u);
  const FinalLoss l = FinalLossOf(c[1], FlushOf(c, c[1]));
  ASSERT_TRUE(l.val && l.flush_val && l.gap);
  EXPECT_NEAR(l.val->mean, 3.165, 1e-12);
  EXPECT_NEAR(*l.flush_val, 3.12, 1e-12);
  EXPECT_NEAR(l.gap->mean, 0.045, 1e-12);
  EXPECT_NEAR(l.gap->stddev, 0.015 * std::sqrt(2.0), 1e-12);
  EXPECT_NEAR(l.gap->hi - l.gap->mean, 12.7062047361747 * 0.015, 1e-5);
  const FinalLoss flush = FinalLossOf(c[0], nullptr);
  EXPECT_TRUE(flush.val.has_value());
  EXPECT_FALSE(flush.gap.has_value());
}

SubGrid Grid(std::vector<std::string> schedules, std::vector<int64_t> stages, std::vector<double> lr) {
  SubGrid g;
  g.schedules = std::move(schedules);
  g.stages = std::move(stages);
  g.lr = std::move(lr);
  return g;
}

TEST_F(StudyStore, SubGridKeepsTheFlushBaseline) {
  WriteRun(*db_, {.schedule = "1f1b-flush", .loss = Line(0.05)});
  WriteRun(*db_, {.schedule = "paci", .loss = Line(0.05)});
  WriteRun(*db_, {.schedule = "paci",
                  .setup = R"({"model":{"layers":2},"updates":100,"drift_lr_scale":1.0})",
                  .loss = Line(0.05)});
  WriteRun(*db_, {.schedule = "paci", .lr = 2e-3, .loss = Line(0.05)});
  const std::vector<StudyConfiguration> all = Load();
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(SelectSubGrid(SubGrid{}, all).size(), 4u);
  std::vector<StudyConfiguration> kept = SelectSubGrid(Grid({"paci"}, {}, {0.001000000001}), all);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_TRUE(kept[0].IsFlush());
  EXPECT_EQ(VariantName(kept[1].point), "paci");
  kept = SelectSubGrid(Grid({"paci+drift-lr-scale=1.0"}, {}, {}), all);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(VariantName(kept[1].point), "paci+drift-lr-scale=1.0");
  EXPECT_TRUE(SelectSubGrid(Grid({}, {8}, {}), all).empty());
}

// Both reach loss 5 at update 105 (same tokens); PACI's steady rate beats flush's, so it ranks
// first and its speed-up is its throughput ratio. A configuration that never reaches ranks last.
TEST_F(StudyStore, RanksByPredictedTimeToTarget) {
  WriteRun(*db_, {.schedule = "1f1b-flush", .loss = Line(0.05)});
  WriteRun(*db_, {.schedule = "paci", .loss = Line(0.05)});
  WriteRun(*db_, {.schedule = "gpipe", .loss = Line(0.001)});
  const std::vector<StudyConfiguration> c = Load();
  ASSERT_EQ(c.size(), 3u);
  const ir::CostModel cost = sim::simtest::Cost(1, 2);  // no tokens_per_microbatch: the study's 512
  const sim::CostForSpec cost_for = [&](const ir::PipelineSpec&) -> Result<ir::CostModel> { return cost; };
  Result<StudyRanking> r = RankStudy(c, 5.0, cost_for);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->ranks.size(), 3u);
  EXPECT_EQ(r->ranks[0].config->point.config.schedule, "paci");
  EXPECT_EQ(r->ranks[1].config->point.config.schedule, "1f1b-flush");
  EXPECT_EQ(r->ranks[2].config->point.config.schedule, "gpipe");
  ASSERT_EQ(r->best_flush, 1u);
  EXPECT_NEAR(*r->ranks[0].tokens.mean, 105 * 2048.0, 1e-9);  // a geometric mean: exp(log(x))
  ir::CostModel at_study = cost;
  at_study.set_tokens_per_microbatch(512);
  Result<double> steady = sim::SteadyTokensPerSecond(r->ranks[0].config->spec, at_study);
  ASSERT_TRUE(steady.ok());
  EXPECT_NEAR(r->ranks[0].rate, *steady, 1e-9 * *steady);
  EXPECT_NEAR(*r->ranks[0].time.seconds, 105 * 2048.0 / *steady, 1e-9);
  ASSERT_TRUE(r->ranks[0].vs_best_flush.has_value());
  EXPECT_DOUBLE_EQ(r->ranks[0].vs_best_flush->tokens, 1.0);
  EXPECT_GT(r->ranks[0].vs_best_flush->throughput, 1.0);
  EXPECT_NEAR(r->ranks[0].vs_best_flush->speedup, r->ranks[0].vs_best_flush->throughput, 1e-12);
  EXPECT_FALSE(r->ranks[1].vs_best_flush.has_value());  // the best flush itself
  EXPECT_FALSE(r->ranks[2].time.seconds.has_value());
  EXPECT_EQ(r->ranks[2].tokens.reached, 0u);

  const sim::CostForSpec broken = [](const ir::PipelineSpec&) -> Result<ir::CostModel> {
    return Status::InvalidArgument("bad cost");
  };
  Result<StudyRanking> failed = RankStudy(c, 5.0, broken);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().message(), "1f1b-flush P=2 K=4 lr=0.001 b=8 tokens/update=2048: bad cost");
}

// A configuration whose variant carries a compensation with a cost ("paci+rewind=1") is ranked
// under the compensated cost model (sim/staleness_cost.h): with the same curve as plain PACI it
// ranks after it, slower by the predicted extra time per update. An lr-only compensation
// (drift-lr-scale) costs nothing.
TEST_F(StudyStore, CompensatedVariantRanksSlowerByItsExtraTime) {
  WriteRun(*db_, {.schedule = "1f1b-flush", .loss = Line(0.05)});
  WriteRun(*db_, {.schedule = "paci", .loss = Line(0.05)});
  WriteRun(*db_, {.schedule = "paci",
                  .setup = R"({"model":{"layers":2},"updates":100,"drift_lr_scale":1.0})",
                  .loss = Line(0.05)});
  std::vector<StudyConfiguration> c = Load();
  ASSERT_EQ(c.size(), 3u);
  const ir::CostModel cost = sim::simtest::Cost(1, 2, 0, 0.7);  // rewind: + 0.4 ms per backward
  Result<double> plain_rate = StudyTokensPerSecondAt(c[1], cost),
                 lr_rate = StudyTokensPerSecondAt(c[2], cost);
  ASSERT_TRUE(plain_rate.ok() && lr_rate.ok());
  ASSERT_EQ(VariantName(c[2].point), "paci+drift-lr-scale=1.0");
  EXPECT_DOUBLE_EQ(*lr_rate, *plain_rate);

  // The same runs as plain PACI, recorded with `--staleness rewind=1` (the setup's "staleness").
  StudyConfiguration rewind = c[1];
  nlohmann::json setup = nlohmann::json::parse(rewind.point.setup);
  setup["staleness"] = "rewind=1";
  rewind.point.setup = setup.dump();
  rewind.label += " rewind";
  ASSERT_EQ(VariantName(rewind.point), "paci+rewind=1");
  c.push_back(rewind);
  ir::CostModel at_study = cost;
  at_study.set_tokens_per_microbatch(512);
  Result<ir::CostModel> compensated =
      sim::CompensatedCost(rewind.spec, Staleness{StalenessKind::kRewind, 1}, at_study);
  ASSERT_TRUE(compensated.ok()) << compensated.status().message();
  Result<double> expected = sim::SteadyTokensPerSecond(rewind.spec, *compensated);
  ASSERT_TRUE(expected.ok());
  const sim::CostForSpec cost_for = [&](const ir::PipelineSpec&) -> Result<ir::CostModel> { return cost; };
  Result<StudyRanking> r = RankStudy(c, 5.0, cost_for);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->ranks.size(), 4u);
  const StudyRank& slowest_paci = r->ranks[2];  // after plain paci and its drift-lr-scale twin
  EXPECT_EQ(slowest_paci.config, &c[3]);
  EXPECT_NEAR(slowest_paci.rate, *expected, 1e-9 * *expected);
  EXPECT_LT(slowest_paci.rate, *plain_rate);
  EXPECT_NEAR(*slowest_paci.time.seconds / *r->ranks[0].time.seconds, *plain_rate / slowest_paci.rate, 1e-9);
  EXPECT_EQ(r->ranks[3].config->point.config.schedule, "1f1b-flush");
}

// Paired by seed: flush reaches loss 5 at updates 105, 130 (rates 0.05, 0.04 per update) for seeds
// 1, 2; PACI at 55, 105 (0.1, 0.05). At equal rates the per-seed speed-ups are 105/55 and 130/105,
// so the paired speed-up is their geometric mean, sqrt(1.909 x 1.238) = 1.5374, with a finite
// interval. A seed that one side never reaches leaves the speed-up undefined (not left out, which
// would flatter the side that missed).
TEST_F(StudyStore, SpeedupIsPairedBySeed) {
  WriteRun(*db_, {.schedule = "1f1b-flush", .seed = 1, .loss = Line(0.05)});
  WriteRun(*db_, {.schedule = "1f1b-flush", .seed = 2, .loss = Line(0.04)});
  WriteRun(*db_, {.schedule = "paci", .seed = 1, .loss = Line(0.1)});
  WriteRun(*db_, {.schedule = "paci", .seed = 2, .loss = Line(0.05)});
  WriteRun(*db_, {.schedule = "gpipe", .seed = 1, .loss = Line(0.1)});
  WriteRun(*db_, {.schedule = "gpipe", .seed = 2, .loss = Line(0.001)});  // never reaches
  const std::vector<StudyConfiguration> all = Load();
  ASSERT_EQ(all.size(), 3u);
  const StudyConfiguration& gpipe = all[0].point.config.schedule == "gpipe"   ? all[0]
                                    : all[1].point.config.schedule == "gpipe" ? all[1]
                                                                              : all[2];
  std::vector<StudyConfiguration> c;
  for (const StudyConfiguration& x : all)
    if (x.point.config.schedule != "gpipe") c.push_back(x);
  ASSERT_EQ(c.size(), 2u);
  const StudyConfiguration& flush = c[0].IsFlush() ? c[0] : c[1];
  const StudyConfiguration& paci = c[0].IsFlush() ? c[1] : c[0];
  const std::optional<MeanInterval> s = PairedSpeedup(paci, 1000, flush, 1000, 5.0);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->n, 2u);
  // Line(r) reaches 5 at ceil(5 / r + 4.5): 105, 130 for flush; 55, 105 for PACI.
  EXPECT_NEAR(s->mean, std::sqrt((105.0 / 55) * (130.0 / 105)), 1e-12);
  EXPECT_LT(s->lo, s->mean);
  EXPECT_GT(s->hi, s->mean);
  // Twice PACI's rate halves its time: the speed-up doubles, interval and all.
  const std::optional<MeanInterval> faster = PairedSpeedup(paci, 2000, flush, 1000, 5.0);
  ASSERT_TRUE(faster.has_value());
  EXPECT_NEAR(faster->mean, 2 * s->mean, 1e-12);
  EXPECT_NEAR(faster->lo, 2 * s->lo, 1e-9);
  EXPECT_FALSE(PairedSpeedup(paci, 0, flush, 1000, 5.0).has_value());
  EXPECT_FALSE(PairedSpeedup(gpipe, 1000, flush, 1000, 5.0).has_value());  // seed 2 never reaches
}

}  // namespace
}  // namespace paci::study
