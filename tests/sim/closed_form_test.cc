// The closed forms of docs/method.md §6 (equal stage times, no communication, jitter off),
// reproduced exactly: makespans in integer ns, fractions to 1e-9 relative.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "tests/sim/sim_test_util.h"

namespace paci::sim::simtest {
namespace {

void ExpectRel(double got, double want) {
  EXPECT_NEAR(got, want, 1e-9 * std::max(1.0, std::fabs(want))) << "want " << want;
}

struct FlushVector {
  uint32_t P, M;
  int64_t makespan;  // in units of T = 1 ms, with T_F = 1, T_B = 2
};

// 6.1: (M + P - 1)(T_F + T_B), beta_total = (P-1)/(M+P-1), for GPipe and 1F1B-flush alike.
TEST(ClosedForm, GpipeAnd1f1bMakespanAndBubble) {
  for (ir::ScheduleKind kind : {ir::GPIPE, ir::ONE_F_ONE_B_FLUSH}) {
    for (FlushVector v : {FlushVector{4, 8, 33}, {8, 8, 45}, {8, 16, 69}, {8, 32, 117}}) {
      SCOPED_TRACE(::testing::Message() << "kind " << kind << " P " << v.P << " M " << v.M);
      const SimulationResult r = Sim(Spec(kind, v.P, v.M), Cost(1, 2));
      EXPECT_EQ(r.makespan_ns, v.makespan * kMs);
      ExpectRel(r.bubble_fraction, double(v.P - 1) / double(v.M + v.P - 1));
      for (const StageMetrics& s : r.stages) {
        EXPECT_EQ(s.busy_ns, int64_t{v.M} * 3 * kMs);
        ExpectRel(s.bubble_fraction, double(v.P - 1) / double(v.M + v.P - 1));
      }
    }
  }
}

TEST(ClosedForm, BubbleVectorsAsPrinted) {
  // The rounded values docs/method.md prints next to the vectors.
  EXPECT_NEAR(Sim(Spec(ir::ONE_F_ONE_B_FLUSH, 4, 8), Cost(1, 2)).bubble_fraction, 0.2727, 5e-5);
  EXPECT_NEAR(Sim(Spec(ir::ONE_F_ONE_B_FLUSH, 8, 8), Cost(1, 2)).bubble_fraction, 0.4667, 5e-5);
  EXPECT_NEAR(Sim(Spec(ir::ONE_F_ONE_B_FLUSH, 8, 16), Cost(1, 2)).bubble_fraction, 0.3043, 5e-5);
  EXPECT_NEAR(Sim(Spec(ir::ONE_F_ONE_B_FLUSH, 8, 32), Cost(1, 2)).bubble_fraction, 0.1795, 5e-5);
}

// 6.2: peak in-flight activations: GPipe M everywhere; 1F1B min(P - s, M); PACI as 1F1B.
TEST(ClosedForm, PeakInFlightActivations) {
  const SimulationResult gpipe = Sim(Spec(ir::GPIPE, 8, 16), Cost(1, 2));
  for (const StageMetrics& s : gpipe.stages) EXPECT_EQ(s.peak_activations, 16u);
  for (uint32_t M : {4u, 8u, 16u}) {
    const SimulationResult f = Sim(Spec(ir::ONE_F_ONE_B_FLUSH, 8, M), Cost(1, 2));
    for (const StageMetrics& s : f.stages) EXPECT_EQ(s.peak_activations, std::min(8 - s.stage, M));
  }
  const SimulationResult paci = Sim(Spec(ir::PACI, 8, 0, 8, 256), Cost(1, 2));
  for (const StageMetrics& s : paci.stages) EXPECT_EQ(s.peak_activations, 8 - s.stage);
}

struct InterleavedVector {
  uint32_t P, M, V;
  double makespan;  // T_F = 1, T_B = 2
};

// 6.3: M(T_F + T_B) + (P - 1)(T_F + T_B) / V; stage 0 peak 2(P-1) + (V-1)P + 1 chunk activations.
TEST(ClosedForm, InterleavedMakespan) {
  for (InterleavedVector v : {InterleavedVector{4, 8, 2, 28.5}, {4, 8, 4, 26.25}, {8, 16, 2, 58.5},
                              {8, 32, 2, 106.5}}) {
    SCOPED_TRACE(::testing::Message() << "P " << v.P << " M " << v.M << " V " << v.V);
    const SimulationResult r = Sim(Spec(ir::INTERLEAVED_1F1B, v.P, v.M, 0, 0, v.V), Cost(1, 2));
    EXPECT_EQ(r.makespan_ns, std::llround(v.makespan * kMs));
    const double ideal = v.M * 3.0;
    ExpectRel((r.makespan_ns / double(kMs) - ideal) / ideal, double(v.P - 1) / double(v.V * v.M));
    EXPECT_EQ(r.stages[0].peak_activations, 2 * (v.P - 1) + (v.V - 1) * v.P + 1);
  }
}

// 6.4: ZB-H1 makespan M(T_F+T_B+T_W) + (P-1)(T_F+T_B-T_W); 1F1B with W inside B for comparison.
TEST(ClosedForm, ZbH1Makespan) {
  EXPECT_EQ(Sim(Spec(ir::ZB_H1, 4, 8), Cost(1, 1, 1)).makespan_ns, 27 * kMs);
  EXPECT_EQ(Sim(Spec(ir::ONE_F_ONE_B_FLUSH, 4, 8), Cost(1, 1, 1)).makespan_ns, 33 * kMs);
  EXPECT_EQ(Sim(Spec(ir::ZB_H1, 8, 16), Cost(1, 2, 1)).makespan_ns, 78 * kMs);
  EXPECT_EQ(Sim(Spec(ir::ZB_H1, 8, 32), Cost(1, 1, 1)).makespan_ns, 103 * kMs);
  for (uint32_t P : {4u, 8u})
    for (uint32_t M : {8u, 16u, 32u})
      for (auto [f, b, w] : {std::tuple{1.0, 1.0, 1.0}, {1.0, 1.2, 0.8}, {1.0, 2.0, 1.0}}) {
        const double want = M * (f + b + w) + (P - 1) * (f + b - w);
        EXPECT_EQ(Sim(Spec(ir::ZB_H1, P, M), Cost(f, b, w)).makespan_ns, std::llround(want * kMs))
            << "P " << P << " M " << M << " (" << f << "," << b << "," << w << ")";
      }
}

// 6.4: ZB-H1 peak memory on stage s = (P - s) M_B + s M_W (M_W <= M_B).
TEST(ClosedForm, ZbH1PeakMemory) {
  UniformCost u;
  u.fwd_ms = u.bwd_ms = u.wgrad_ms = 1;
  u.activation_mb = 2;
  u.wgrad_mb = 1;
  const uint64_t MB = 1 << 20;
  const SimulationResult r = Sim(Spec(ir::ZB_H1, 8, 16), MakeCostModel(u));
  for (const StageMetrics& s : r.stages) {
    EXPECT_EQ(s.peak_memory_bytes, (8 - s.stage) * 2 * MB + s.stage * 1 * MB) << "stage " << s.stage;
    EXPECT_EQ(s.peak_activations, 8 - s.stage);
  }
}

// 6.6: PipeDream keeps P - s weight versions on stage s; backwards use the stashed version.
TEST(ClosedForm, PipeDreamStashCount) {
  UniformCost u;
  u.weights_mb = 1;
  const SimulationResult r = Sim(Spec(ir::PIPEDREAM, 8, 0, 1, 200), MakeCostModel(u));
  for (const StageMetrics& s : r.stages) {
    EXPECT_EQ(s.weight_versions, 8 - s.stage) << "stage " << s.stage;
    EXPECT_EQ(s.max_drift, 0u);
    // weights x versions + gradient buffer (1x) + optimizer state (2x), no activations given.
    EXPECT_EQ(s.peak_memory_bytes, (8 - s.stage + 3) * uint64_t{1 << 20});
  }
}

// 6.7: flush period per group (K + P - 1)(T_F + T_B) + t_opt: R iterations of M = K.
TEST(ClosedForm, FlushPeriodPerGroup) {
  for (auto [K, per_group] : {std::pair{8u, 45}, {16u, 69}, {32u, 117}}) {
    const SimulationResult r = Sim(Spec(ir::ONE_F_ONE_B_FLUSH, 8, K, 0, 4 * K), Cost(1, 2));
    EXPECT_EQ(r.makespan_ns, 4 * per_group * kMs) << "K " << K;
    EXPECT_EQ(r.optimizer_updates, 4u);
  }
  const SimulationResult r = Sim(Spec(ir::ONE_F_ONE_B_FLUSH, 8, 8, 0, 24), Cost(1, 2, 0, 0.5));
  EXPECT_EQ(r.makespan_ns, 3 * (45 * kMs + kMs / 2));
}

// 6.7: PACI long-run period per group K(T_F + T_B) + t_opt, on every stage.
TEST(ClosedForm, PaciPeriodPerGroup) {
  for (auto [K, t_opt] : {std::pair{8u, 0.0}, {16u, 0.0}, {32u, 0.0}, {8u, 0.5}, {4u, 1.0}}) {
    VectorTraceSink sink;
    const uint64_t groups = 24;
    Sim(Spec(ir::PACI, 8, 0, K, groups * K), Cost(1, 2, 0, t_opt), &sink);
    std::map<uint32_t, std::vector<int64_t>> steps;  // stage -> optimizer step start times
    for (const ir::TraceEvent& e : sink.ops)
      if (e.kind() == ir::OPTIMIZER_STEP) steps[e.stage()].push_back(e.start_ns());
    const int64_t period = std::llround((K * 3.0 + t_opt) * kMs);
    for (auto& [stage, t] : steps) {
      ASSERT_EQ(t.size(), groups);
      // Skip the start-up (first 2 groups) and the drain (last group).
      for (size_t g = 3; g + 1 < t.size(); ++g)
        EXPECT_EQ(t[g] - t[g - 1], period) << "K " << K << " stage " << stage << " group " << g;
    }
  }
}

}  // namespace
}  // namespace paci::sim::simtest
