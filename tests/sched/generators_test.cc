// Every generator over several P, M, K, V passes the validator, impossible combinations are refused,
// and the generated orders match docs/method.md: 1F1B warm-up counts, in-flight peaks, and the unit-time
// makespans of section 6 (checked on the dependency-driven timeline of unit_timeline.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "sched/expanded_schedule.h"
#include "sched/pipeline_spec.h"
#include "sched/schedule_validator.h"
#include "sched/unit_timeline.h"
#include "sched/weight_version_analysis.h"
#include "sched_test_util.h"

namespace paci {
namespace {

using testing::Gen;
using testing::Generate;

constexpr ir::ScheduleKind kAsync[] = {ir::PACI, ir::PIPEDREAM, ir::PIPEDREAM_2BW, ir::PIPEMARE};

TEST(Generators, FlushSchedulesValidate) {
  for (ir::ScheduleKind kind : {ir::GPIPE, ir::ONE_F_ONE_B_FLUSH, ir::ZB_H1, ir::INTERLEAVED_1F1B})
    for (uint32_t P : {1u, 2u, 3u, 4u, 8u})
      for (uint32_t mult : {1u, 2u, 3u}) {
        const uint32_t M = P * mult;
        for (uint32_t V : {0u, 2u, 3u}) {
          if (V != 0 && kind != ir::INTERLEAVED_1F1B) continue;
          for (uint64_t iterations : {1u, 3u}) {
            ir::Schedule s = Generate({.kind = kind, .P = P, .M = M, .V = V, .N = M * iterations});
            Status st = ValidateSchedule(s);
            EXPECT_TRUE(st.ok()) << ScheduleName(kind) << " P=" << P << " M=" << M << " V=" << V << ": "
                                 << st.message();
          }
        }
      }
  // M smaller than the pipeline (warm-up capped at M) and odd M for the non-interleaved ones.
  for (ir::ScheduleKind kind : {ir::GPIPE, ir::ONE_F_ONE_B_FLUSH, ir::ZB_H1})
    for (uint32_t M : {1u, 3u, 5u})
      EXPECT_TRUE(ValidateSchedule(Generate({.kind = kind, .P = 8, .M = M})).ok());
}

TEST(Generators, AsyncSchedulesValidate) {
  for (ir::ScheduleKind kind : kAsync)
    for (uint32_t P : {1u, 2u, 3u, 5u, 8u, 16u})
      for (uint32_t K : {1u, 2u, 3u, 8u, 16u, 32u}) {
        if (kind == ir::PIPEDREAM && K != 1) continue;
        if (kind == ir::PIPEDREAM_2BW && K < P) continue;
        for (uint64_t N : {0ull, 1ull, 7ull, 100ull}) {
          ir::Schedule s = Generate({.kind = kind, .P = P, .K = K, .N = N});
          Status st = ValidateSchedule(s);
          EXPECT_TRUE(st.ok()) << ScheduleName(kind) << " P=" << P << " K=" << K << " N=" << N << ": "
                               << st.message();
        }
      }
  // A uniform window override (docs/method.md §3.1 corollary) still validates.
  EXPECT_TRUE(
      ValidateSchedule(Generate({.kind = ir::PACI, .P = 4, .K = 2, .N = 40, .window = {6, 6, 6, 6}})).ok());
}

TEST(Generators, ImpossibleCombinationsAreRefused) {
  ir::PipelineSpec spec;
  auto refused = [&](ir::ScheduleKind kind, uint32_t P, uint32_t M, uint32_t K, uint32_t V,
                     const std::string& field) {
    spec.Clear();
    spec.set_kind(kind);
    spec.set_stages(P);
    spec.set_microbatches_per_iteration(M);
    spec.set_accum(K);
    spec.set_chunks(V);
    Result<ir::Schedule> s = GenerateSchedule(spec);
    ASSERT_FALSE(s.ok()) << ScheduleName(kind);
    EXPECT_EQ(s.status().message().rfind(field, 0), 0u) << s.status().message();
  };
  refused(ir::INTERLEAVED_1F1B, 4, 6, 0, 2, "microbatches");
  refused(ir::PIPEDREAM, 4, 0, 4, 0, "accum");
  refused(ir::PIPEDREAM_2BW, 8, 0, 4, 0, "accum");
  refused(ir::PACI, 4, 0, 4, 2, "chunks");
  refused(ir::GPIPE, 0, 8, 0, 0, "stages");
  refused(ir::ONE_F_ONE_B_FLUSH, 4, 8, 0, 2, "chunks");
}

// SpecFor: K is the micro-batches per update for every schedule (a flush iteration's M), V only
// for interleaved-1f1b, and the spec comes out normalized (chunks >= 1, defaults filled).
TEST(Generators, SpecForReadsKTheSameForEverySchedule) {
  Result<ir::PipelineSpec> flush = SpecFor(ir::ONE_F_ONE_B_FLUSH, 4, 8, 32, 3);
  ASSERT_TRUE(flush.ok()) << flush.status().message();
  EXPECT_EQ(flush->microbatches_per_iteration(), 8u);
  EXPECT_EQ(flush->total_microbatches(), 32u);
  EXPECT_EQ(flush->chunks(), 1u);  // V is interleaved-1f1b's alone
  Result<ir::PipelineSpec> paci = SpecFor(ir::PACI, 4, 8, 0);
  ASSERT_TRUE(paci.ok());
  EXPECT_EQ(paci->accum(), 8u);
  EXPECT_EQ(paci->chunks(), 1u);
  EXPECT_EQ(paci->total_microbatches(), 32u);  // NormalizeSpec's default 4 max(P, K)
  Result<ir::PipelineSpec> interleaved = SpecFor(ir::INTERLEAVED_1F1B, 4, 8, 16);
  ASSERT_TRUE(interleaved.ok());
  EXPECT_EQ(interleaved->chunks(), 2u);
  EXPECT_EQ(SpecFor(ir::INTERLEAVED_1F1B, 4, 8, 16, 3)->chunks(), 3u);
  EXPECT_EQ(SpecFor(ir::GPIPE, 4, 0, 0)->microbatches_per_iteration(), DefaultAccum(ir::GPIPE, 4));
  EXPECT_EQ(SpecFor(ir::PIPEDREAM, 4, 0, 0)->accum(), 1u);
  Result<ir::PipelineSpec> bad = SpecFor(ir::PIPEDREAM_2BW, 8, 4, 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().rfind("accum", 0), 0u) << bad.status().message();
  // What it builds is what a schedule of the same numbers is generated from.
  Result<ir::Schedule> generated = GenerateSchedule(*paci);
  ASSERT_TRUE(generated.ok());
  EXPECT_EQ(generated->spec().SerializeAsString(), paci->SerializeAsString());
}

// Forwards before the first backward on each stage: Megatron's P-s-1 warm-up plus the first
// forward of the steady 1F1B phase (docs/method.md §4.2).
TEST(Generators, OneFOneBWarmupCounts) {
  for (uint32_t P : {2u, 4u, 8u})
    for (uint32_t M : {P, 2 * P}) {
      const auto ops = ExpandSchedule(Generate({.kind = ir::ONE_F_ONE_B_FLUSH, .P = P, .M = M}));
      for (uint32_t s = 0; s < P; ++s) {
        std::vector<ir::OpKind> compute;
        for (const PlainOp& op : ops[s])
          if (op.kind == ir::FORWARD || op.kind == ir::BACKWARD) compute.push_back(op.kind);
        uint32_t leading = 0;
        while (compute[leading] == ir::FORWARD) ++leading;
        EXPECT_EQ(leading, std::min(P - s, M)) << "P=" << P << " s=" << s;
        // After warm-up: F, B alternate (1F1B steady phase), then only B (cool-down).
        const uint32_t w = std::min(P - s - 1, M);  // Megatron's num_warmup_microbatches
        for (uint32_t k = 0; k < M - w; ++k) {
          EXPECT_EQ(compute[w + 2 * k], ir::FORWARD) << "P=" << P << " s=" << s << " k=" << k;
          EXPECT_EQ(compute[w + 2 * k + 1], ir::BACKWARD) << "P=" << P << " s=" << s << " k=" << k;
        }
        for (size_t i = w + 2 * (M - w); i < compute.size(); ++i) EXPECT_EQ(compute[i], ir::BACKWARD);
      }
    }
}

std::vector<uint32_t> Peaks(const ir::Schedule& s) {
  Result<WeightVersionReport> r = AnalyzeWeightVersions(s);
  EXPECT_TRUE(r.ok()) << r.status().message();
  std::vector<uint32_t> out;
  if (r.ok())
    for (const auto& st : r->stages) out.push_back(st.peak_inflight);
  return out;
}

TEST(Generators, InFlightPeaks) {
  const std::vector<uint32_t> one_f_one_b = {8, 7, 6, 5, 4, 3, 2, 1};  // docs/method.md §6.2
  EXPECT_EQ(Peaks(Generate({.kind = ir::ONE_F_ONE_B_FLUSH, .P = 8, .M = 16})), one_f_one_b);
  EXPECT_EQ(Peaks(Generate({.kind = ir::PACI, .P = 8, .K = 8})), one_f_one_b);
  EXPECT_EQ(Peaks(Generate({.kind = ir::PIPEDREAM, .P = 8})), one_f_one_b);
  EXPECT_EQ(Peaks(Generate({.kind = ir::ONE_F_ONE_B_FLUSH, .P = 8, .M = 4})),
            (std::vector<uint32_t>{4, 4, 4, 4, 4, 3, 2, 1}));  // min(P - s, M)
  EXPECT_EQ(Peaks(Generate({.kind = ir::GPIPE, .P = 4, .M = 8})), (std::vector<uint32_t>{8, 8, 8, 8}));
  // Interleaved stage 0: 2(P-1) + (V-1)P + 1 chunk activations; (4, 8, 2) -> 11.
  EXPECT_EQ(Peaks(Generate({.kind = ir::INTERLEAVED_1F1B, .P = 4, .M = 8, .V = 2}))[0], 11u);
  EXPECT_EQ(Peaks(Generate({.kind = ir::INTERLEAVED_1F1B, .P = 8, .M = 16, .V = 2}))[0], 2 * 7 + 8 + 1u);
}

int64_t Makespan(const ir::Schedule& s, UnitCosts costs = {}) {
  Result<UnitTimeline> t = ComputeUnitTimeline(s, costs);
  EXPECT_TRUE(t.ok()) << t.status().message();
  return t.ok() ? t->makespan : -1;
}

// docs/method.md §6.1: (M + P - 1)(T_F + T_B) with T_F = 1, T_B = 2.
TEST(Generators, GpipeAndOneFOneBMakespan) {
  for (ir::ScheduleKind kind : {ir::GPIPE, ir::ONE_F_ONE_B_FLUSH}) {
    EXPECT_EQ(Makespan(Generate({.kind = kind, .P = 4, .M = 8})), 33);
    EXPECT_EQ(Makespan(Generate({.kind = kind, .P = 8, .M = 8})), 45);
    EXPECT_EQ(Makespan(Generate({.kind = kind, .P = 8, .M = 16})), 69);
    EXPECT_EQ(Makespan(Generate({.kind = kind, .P = 8, .M = 32})), 117);
  }
}

// docs/method.md §6.3: M(T_F+T_B) + (P-1)(T_F+T_B)/V in stage units; chunk ops here take F=1, B=2, so the
// timeline is V times longer: (4,8,2) 28.5 -> 57, (4,8,4) 26.25 -> 105, (8,16,2) 58.5 -> 117.
TEST(Generators, InterleavedMakespan) {
  EXPECT_EQ(Makespan(Generate({.kind = ir::INTERLEAVED_1F1B, .P = 4, .M = 8, .V = 2})), 57);
  EXPECT_EQ(Makespan(Generate({.kind = ir::INTERLEAVED_1F1B, .P = 4, .M = 8, .V = 4})), 105);
  EXPECT_EQ(Makespan(Generate({.kind = ir::INTERLEAVED_1F1B, .P = 8, .M = 16, .V = 2})), 117);
  EXPECT_EQ(Makespan(Generate({.kind = ir::INTERLEAVED_1F1B, .P = 8, .M = 32, .V = 2})), 213);
}

// docs/method.md §6.4: ZB-H1 = M(T_F+T_B+T_W) + (P-1)(T_F+T_B-T_W).
TEST(Generators, ZeroBubbleH1Makespan) {
  const UnitCosts unit{.forward = 1, .backward = 2, .backward_input = 1, .backward_weight = 1};
  EXPECT_EQ(Makespan(Generate({.kind = ir::ZB_H1, .P = 4, .M = 8}), unit), 27);
  EXPECT_EQ(Makespan(Generate({.kind = ir::ZB_H1, .P = 8, .M = 32}), unit), 103);
  const UnitCosts slow_b{.forward = 1, .backward = 3, .backward_input = 2, .backward_weight = 1};
  EXPECT_EQ(Makespan(Generate({.kind = ir::ZB_H1, .P = 8, .M = 16}), slow_b), 78);
}

// docs/method.md §3.3 / §6.7: PACI's steady period per group of K is K(T_F+T_B) (24, 48, 96 for K = 8,
// 16, 32 at P = 8), against (K+P-1)(T_F+T_B) for the flush baseline (45, 69, 117).
TEST(Generators, PaciPeriodPerGroup) {
  for (uint32_t K : {8u, 16u, 32u}) {
    const ir::Schedule s = Generate({.kind = ir::PACI, .P = 8, .K = K, .N = 8ull * K});
    Result<UnitTimeline> t = ComputeUnitTimeline(s);
    ASSERT_TRUE(t.ok());
    std::vector<int64_t> step_times;
    for (const TimedOp& op : t->stages[0])
      if (op.op.kind == ir::OPTIMIZER_STEP) step_times.push_back(op.end);
    ASSERT_GE(step_times.size(), 6u);
    for (size_t g = 3; g + 1 < step_times.size(); ++g)
      EXPECT_EQ(step_times[g] - step_times[g - 1], 3 * int64_t{K}) << "K=" << K << " group " << g;
    const ir::Schedule flush = Generate({.kind = ir::ONE_F_ONE_B_FLUSH, .P = 8, .M = K});
    EXPECT_EQ(Makespan(flush), 3 * int64_t{K + 7});
  }
}

TEST(Generators, CompactStreamSizeDoesNotGrowWithTheRun) {
  const ir::Schedule short_run = Generate({.kind = ir::PACI, .P = 8, .K = 4, .N = 64});
  const ir::Schedule long_run = Generate({.kind = ir::PACI, .P = 8, .K = 4, .N = 64'000'000});
  // Only varint widths grow (absolute micro-batch numbers in the suffix, the repeat count).
  EXPECT_LT(long_run.ByteSizeLong(), 2 * short_run.ByteSizeLong());
  EXPECT_EQ(StageLength(long_run.streams(7)),
            64'000'000ull * 4 + 64'000'000 / 4);  // RECV_F F B SEND_B, OPT per K
}

}  // namespace
}  // namespace paci
