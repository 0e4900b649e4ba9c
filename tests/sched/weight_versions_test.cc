// Weight-version analysis against docs/method.md: the PACI drift bound ceil((P-1-s)/K) holds and is
// reached for every P <= 16, K <= 32; the steady-state formula and histograms of section 3.2; the
// drift table for P = 8; PipeDream's P-s stashed versions; 2BW's two buffers; flush schedules at 0.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <vector>

#include "sched/weight_version_analysis.h"
#include "sched_test_util.h"

namespace paci {
namespace {

using testing::Generate;

int64_t CeilDiv(int64_t a, int64_t b) { return a <= 0 ? 0 : (a + b - 1) / b; }

struct Analysis {
  WeightVersionReport report;
  std::vector<MicroBatchVersions> records;
};

Analysis Analyze(const ir::Schedule& s) {
  Analysis a;
  Result<WeightVersionReport> r = AnalyzeWeightVersions(s, [&](const MicroBatchVersions& m) { a.records.push_back(m); });
  EXPECT_TRUE(r.ok()) << r.status().message();
  if (r.ok()) a.report = *r;
  return a;
}

std::vector<int64_t> MaxDrifts(const Analysis& a) {
  std::vector<int64_t> out;
  for (const auto& s : a.report.stages) out.push_back(s.max_drift);
  return out;
}

// Micro-batches of whole groups that lie past stage s's first window (docs/method.md §3.2, §7).
bool InSteadyGroup(const MicroBatchVersions& m, uint32_t P, uint32_t K, uint64_t N) {
  const uint64_t t = (m.micro_batch + K - 1) / K;
  return (t - 1) * K >= P - m.stage && t * K <= N;
}

TEST(WeightVersions, PaciBoundHoldsAndIsReachedForAllPUpTo16AndKUpTo32) {
  for (uint32_t P = 1; P <= 16; ++P)
    for (uint32_t K = 1; K <= 32; ++K) {
      const Analysis a = Analyze(Generate({.kind = ir::PACI, .P = P, .K = K}));  // default run length
      ASSERT_EQ(a.report.stages.size(), P);
      for (uint32_t s = 0; s < P; ++s) {
        const int64_t bound = CeilDiv(P - 1 - s, K);
        EXPECT_EQ(a.report.stages[s].max_drift, bound) << "P=" << P << " K=" << K << " s=" << s;
        EXPECT_EQ(a.report.stages[s].drift_bound, bound);
        EXPECT_EQ(a.report.stages[s].weight_versions, 1u);
        EXPECT_EQ(a.report.stages[s].peak_inflight, P - s);
      }
    }
}

// v_b = t-1, d = max(0, ceil((P-s-r)/K)), v_f = t-1-d once the pipeline is full; v_f clamped at 0
// in the first window; forward versions non-decreasing along a micro-batch, backward versions equal.
TEST(WeightVersions, PaciSteadyStateFormula) {
  for (uint32_t P : {1u, 2u, 4u, 7u, 8u, 16u})
    for (uint32_t K : {1u, 2u, 3u, 4u, 7u, 8u, 16u, 32u}) {
      const uint64_t N = 6ull * std::max(P, K);
      const Analysis a = Analyze(Generate({.kind = ir::PACI, .P = P, .K = K, .N = N}));
      ASSERT_EQ(a.records.size(), P * N);
      std::map<uint64_t, std::vector<MicroBatchVersions>> by_mb;
      for (const MicroBatchVersions& m : a.records) {
        const int64_t t = (m.micro_batch + K - 1) / K, r = m.micro_batch - (t - 1) * K;
        EXPECT_EQ(m.backward_version, t - 1);
        if (m.micro_batch > P - m.stage) {
          EXPECT_EQ(m.drift, CeilDiv(int64_t(P) - m.stage - r, K)) << "P=" << P << " K=" << K << " n=" << m.micro_batch;
          EXPECT_EQ(m.forward_version, t - 1 - m.drift);
        } else {
          EXPECT_EQ(m.forward_version, 0);
        }
        by_mb[m.micro_batch].push_back(m);
      }
      for (auto& [n, ms] : by_mb)
        for (size_t s = 1; s < ms.size(); ++s) {
          EXPECT_GE(ms[s].forward_version, ms[s - 1].forward_version);
          EXPECT_EQ(ms[s].backward_version, ms[0].backward_version);
        }
    }
}

// docs/method.md §3.2 table, P = 8: max drift per stage, and steady mean (7-s)/K.
TEST(WeightVersions, PaciDriftTableP8) {
  const std::map<uint32_t, std::vector<int64_t>> max_table = {
      {1, {7, 6, 5, 4, 3, 2, 1, 0}}, {2, {4, 3, 3, 2, 2, 1, 1, 0}}, {4, {2, 2, 2, 1, 1, 1, 1, 0}},
      {8, {1, 1, 1, 1, 1, 1, 1, 0}}, {16, {1, 1, 1, 1, 1, 1, 1, 0}}, {32, {1, 1, 1, 1, 1, 1, 1, 0}}};
  const std::map<uint32_t, std::vector<double>> mean_table = {
      {2, {3.5, 3, 2.5, 2, 1.5, 1, 0.5, 0}}, {4, {1.75, 1.5, 1.25, 1, 0.75, 0.5, 0.25, 0}}};
  for (const auto& [K, expected] : max_table) {
    const uint64_t N = 8ull * std::max(8u, K);
    const Analysis a = Analyze(Generate({.kind = ir::PACI, .P = 8, .K = K, .N = N}));
    EXPECT_EQ(MaxDrifts(a), expected) << "K=" << K;
    std::vector<double> sum(8, 0), count(8, 0);
    for (const MicroBatchVersions& m : a.records)
      if (InSteadyGroup(m, 8, K, N)) {
        sum[m.stage] += m.drift;
        count[m.stage] += 1;
      }
    for (uint32_t s = 0; s < 8; ++s) {
      ASSERT_GT(count[s], 0) << "K=" << K << " s=" << s;
      EXPECT_DOUBLE_EQ(sum[s] / count[s], (7.0 - s) / K) << "K=" << K << " s=" << s;
      if (mean_table.count(K)) {
        EXPECT_DOUBLE_EQ(sum[s] / count[s], mean_table.at(K)[s]);
      }
    }
  }
}

// Steady-state histogram as fractions: {drift: share}.
std::map<int64_t, double> SteadyHistogram(uint32_t P, uint32_t K, uint32_t stage) {
  const uint64_t N = 10ull * std::max(P, K);
  const Analysis a = Analyze(Generate({.kind = ir::PACI, .P = P, .K = K, .N = N}));
  std::map<int64_t, double> h;
  double total = 0;
  for (const MicroBatchVersions& m : a.records)
    if (m.stage == stage && InSteadyGroup(m, P, K, N)) {
      h[m.drift] += 1;
      total += 1;
    }
  for (auto& [d, share] : h) share /= total;
  return h;
}

TEST(WeightVersions, PaciHistogramVectors) {
  EXPECT_EQ(SteadyHistogram(8, 8, 0), (std::map<int64_t, double>{{0, 1.0 / 8}, {1, 7.0 / 8}}));
  EXPECT_EQ(SteadyHistogram(8, 2, 0), (std::map<int64_t, double>{{3, 0.5}, {4, 0.5}}));
  EXPECT_EQ(SteadyHistogram(8, 2, 1), (std::map<int64_t, double>{{3, 1.0}}));
  const auto h = SteadyHistogram(4, 3, 1);
  ASSERT_EQ(h.size(), 2u);
  EXPECT_NEAR(h.at(0), 1.0 / 3, 1e-12);
  EXPECT_NEAR(h.at(1), 2.0 / 3, 1e-12);
}

TEST(WeightVersions, StageHistogramCountsEveryBackward) {
  const Analysis a = Analyze(Generate({.kind = ir::PACI, .P = 8, .K = 4}));
  for (const StageVersionStats& s : a.report.stages) {
    uint64_t total = 0, weighted = 0;
    for (size_t d = 0; d < s.histogram.size(); ++d) {
      total += s.histogram[d];
      weighted += d * s.histogram[d];
    }
    EXPECT_EQ(total, s.backwards);
    EXPECT_DOUBLE_EQ(s.mean_drift, double(weighted) / double(total));
    EXPECT_EQ(s.histogram.size(), size_t(s.max_drift + 1));
  }
}

TEST(WeightVersions, WindowOverrideBound) {
  // Uniform L = 8 on P = 8 (docs/method.md §3.1 corollary): the bound is ceil((L-1)/K) on every stage.
  const Analysis a = Analyze(Generate({.kind = ir::PACI, .P = 8, .K = 4, .N = 200, .window = {8, 8, 8, 8, 8, 8, 8, 8}}));
  for (const StageVersionStats& s : a.report.stages) {
    EXPECT_EQ(s.drift_bound, 2);
    EXPECT_LE(s.max_drift, 2);
  }
  EXPECT_EQ(a.report.stages[0].max_drift, 2);
}

TEST(WeightVersions, PipedreamStashesPMinusSVersions) {
  for (uint32_t P : {2u, 4u, 8u}) {
    const Analysis a = Analyze(Generate({.kind = ir::PIPEDREAM, .P = P}));
    for (uint32_t s = 0; s < P; ++s) {
      EXPECT_EQ(a.report.stages[s].weight_versions, P - s) << "P=" << P << " s=" << s;  // docs/method.md §6.6
      EXPECT_EQ(a.report.stages[s].max_drift, 0);
      EXPECT_EQ(a.report.stages[s].peak_inflight, P - s);
    }
  }
}

TEST(WeightVersions, PipedreamTwoBwHoldsTwoVersions) {
  const uint32_t P = 4, K = 4;
  const Analysis a = Analyze(Generate({.kind = ir::PIPEDREAM_2BW, .P = P, .K = K, .N = 40}));
  for (const StageVersionStats& s : a.report.stages) {
    EXPECT_EQ(s.weight_versions, 2u) << "stage " << s.stage;
    EXPECT_EQ(s.max_drift, 0);
  }
  for (const MicroBatchVersions& m : a.records) {
    const int64_t t = (m.micro_batch + K - 1) / K;
    EXPECT_EQ(m.forward_version, std::max<int64_t>(0, t - 2));  // docs/method.md §4.6
    EXPECT_EQ(m.backward_version, m.forward_version);
  }
}

TEST(WeightVersions, FlushSchedulesHaveNoDrift) {
  for (ir::ScheduleKind kind : {ir::GPIPE, ir::ONE_F_ONE_B_FLUSH, ir::ZB_H1, ir::INTERLEAVED_1F1B}) {
    const Analysis a = Analyze(Generate({.kind = kind, .P = 4, .M = 8, .N = 24}));
    for (const StageVersionStats& s : a.report.stages) {
      EXPECT_EQ(s.max_drift, 0) << ScheduleName(kind);
      EXPECT_EQ(s.weight_versions, 1u);
      EXPECT_EQ(s.optimizer_steps, 3u);
    }
    for (const MicroBatchVersions& m : a.records) EXPECT_EQ(m.forward_version, int64_t((m.micro_batch - 1) / 8));
  }
}

TEST(WeightVersions, ZeroBubbleDefersWeightGrads) {
  // Stage s holds its first s weight-grads back (docs/method.md §4.4): up to s + 1 pending at once.
  const Analysis a = Analyze(Generate({.kind = ir::ZB_H1, .P = 4, .M = 8}));
  for (const StageVersionStats& s : a.report.stages) EXPECT_EQ(s.peak_pending_weight_grads, s.stage + 1);
}

TEST(WeightVersions, LongRunsStreamInBoundedMemory) {
  // 16 stages x 500k micro-batches: a compact schedule walked by cursors, no per-micro-batch storage.
  const Result<WeightVersionReport> r =
      AnalyzeWeightVersions(Generate({.kind = ir::PACI, .P = 16, .K = 16, .N = 500'000}));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->stages[0].max_drift, 1);
  EXPECT_EQ(r->stages[0].backwards, 500'000u);
  EXPECT_NEAR(r->stages[0].mean_drift, 15.0 / 16, 1e-4);
}

TEST(WeightVersions, UnrealizableDoubleBufferIsAnError) {
  const Result<WeightVersionReport> r =
      AnalyzeWeightVersions(Generate({.kind = ir::PIPEDREAM_2BW, .P = 2, .K = 2, .N = 8, .window = {4, 1}}));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("stage 0: op 0F5"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace paci

namespace paci {
namespace {

using testing::Generate;

// Gradient staleness = (version the applying step updates) - v_f. PACI's backward already runs at
// the version its step updates (v_b = t-1), so its staleness is its drift, micro-batch for
// micro-batch (method.md §5, "forward part only"); 2BW is 1 everywhere with drift 0; PipeDream
// P-1-s with drift 0; flush schedules 0.
TEST(WeightVersions, GradientStalenessPerPolicy) {
  for (uint32_t P = 2; P <= 8; ++P) {
    for (uint32_t K = 1; K <= 2 * P; ++K) {
      const WeightVersionReport paci =
          *AnalyzeWeightVersions(Generate({.kind = ir::PACI, .P = P, .K = K, .N = 6ull * K * P}));
      for (const StageVersionStats& s : paci.stages) {
        EXPECT_EQ(s.max_gradient_staleness, s.max_drift) << "P=" << P << " K=" << K << " s=" << s.stage;
        EXPECT_DOUBLE_EQ(s.mean_gradient_staleness, s.mean_drift) << "P=" << P << " K=" << K;
        EXPECT_EQ(s.applied_gradients, s.backwards);
      }
    }
    const WeightVersionReport two_bw =
        *AnalyzeWeightVersions(Generate({.kind = ir::PIPEDREAM_2BW, .P = P, .K = P, .N = 10ull * P}));
    const WeightVersionReport pipedream =
        *AnalyzeWeightVersions(Generate({.kind = ir::PIPEDREAM, .P = P, .K = 1, .N = 6ull * P}));
    const WeightVersionReport flush =
        *AnalyzeWeightVersions(Generate({.kind = ir::ONE_F_ONE_B_FLUSH, .P = P, .M = P, .N = 4ull * P}));
    for (uint32_t s = 0; s < P; ++s) {
      EXPECT_EQ(two_bw.stages[s].max_gradient_staleness, 1) << "P=" << P << " s=" << s;
      EXPECT_EQ(two_bw.stages[s].max_drift, 0);
      EXPECT_EQ(pipedream.stages[s].max_gradient_staleness, int64_t(P - 1 - s)) << "P=" << P << " s=" << s;
      EXPECT_EQ(pipedream.stages[s].max_drift, 0);
      EXPECT_EQ(flush.stages[s].max_gradient_staleness, 0);
    }
  }
}

}  // namespace
}  // namespace paci
