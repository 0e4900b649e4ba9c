// `paci profile`'s measurement (exec/model/profile.h): the robust statistics it keeps, a real
// profile of a tiny model (medians, CPU times, cold-cache times, the halves check), and the
// co-location probe's slices and pinning as `paci train --pin auto` would place the stages.
#include "exec/model/profile.h"

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "exec/model/affinity.h"
#include "exec/model/colocation_probe.h"
#include "exec/model/profile_stats.h"

namespace paci::exec {
namespace {

TEST(ProfileStats, TheMedianIgnoresOnePreemptedRepetition) {
  EXPECT_EQ(MedianOf({}), 0);
  EXPECT_EQ(MedianOf({3, 1, 2}), 2);
  EXPECT_EQ(MedianOf({4, 1, 3, 2}), 2.5);
  TimingSamples s;
  for (int i = 0; i < 9; ++i) s.Add({100.0 + i % 3, 100.0});
  s.Add({10000, 100});  // the thread lost its CPU once
  EXPECT_NEAR(s.Median(), 101, 1e-9);
  EXPECT_LT(s.Rse(), 0.01);
  EXPECT_EQ(s.CpuMedian(), 100);
  // A host that slowed down half-way: the halves say so, the median alone would not.
  TimingSamples drift;
  for (int i = 0; i < 20; ++i) drift.Add({i < 10 ? 100.0 : 110.0, 100});
  EXPECT_NEAR(RelativeDifference(drift.FirstHalfMedian(), drift.SecondHalfMedian()), 10.0 / 105, 1e-9);
  TimingSamples one;
  one.Add({5, 5});
  EXPECT_TRUE(std::isinf(one.Rse()));
}

ProfileOptions Tiny() {
  ProfileOptions o;
  o.model.n_layer = 2;
  o.model.n_embd = 16;
  o.model.n_head = 2;
  o.model.block_size = 8;
  o.model.vocab_size = 64;
  o.B = 2;
  o.max_seconds_per_layer = 0.2;
  o.colocation_seconds = 0.1;
  return o;
}

TEST(Profile, MeasuresMediansCpuTimesColdCachesAndItsOwnRepeatability) {
  ProfileOptions o = Tiny();
  o.max_colocated = 2;
  const Result<ir::Profile> p = MeasureProfile(o);
  ASSERT_TRUE(p.ok()) << p.status().message();
  ASSERT_EQ(p->layers_size(), 4);
  uint64_t record = 0;
  for (const ir::LayerProfile& l : p->layers()) {
    EXPECT_GT(l.forward_ns(), 0);
    EXPECT_GT(l.forward_cpu_ns(), 0);
    EXPECT_GT(l.backward_input_cold_ns(), 0);  // a tiny model's record is far below 128 MiB
    EXPECT_GE(l.repetitions(), static_cast<uint32_t>(o.min_repetitions));
    record += l.activation_bytes();
  }
  EXPECT_EQ(p->layers(0).repetitions(), p->layers(3).repetitions());  // every layer in every round
  EXPECT_EQ(p->cold_records(), static_cast<uint32_t>(kMaxColdRecords));
  EXPECT_EQ(p->hot_working_set_bytes(), record);
  EXPECT_EQ(p->cold_working_set_bytes(), record * kMaxColdRecords);
  ASSERT_EQ(p->halves_size(), 7);
  EXPECT_EQ(p->halves(0).kind(), "forward");
  EXPECT_EQ(p->halves(6).kind(), "backward_weight_cold");
  EXPECT_GT(p->cpu_share(), 0);
  EXPECT_EQ(p->cpus(), allowed_cpus().size());
  // The warning, when there is one, says what it saw.
  if (!p->warning().empty()) {
    EXPECT_TRUE(p->warning().find("halves") != std::string::npos ||
                p->warning().find("CPUs") != std::string::npos)
        << p->warning();
  }
  ASSERT_EQ(p->colocation_size(), 1);
  EXPECT_EQ(p->colocation(0).pinned(), allowed_cpus().size() >= 2);
  EXPECT_GT(p->colocation(0).slowdown(), 0);
  // Pinned stages do not take turns: no stretch (on one CPU, two stages do).
  EXPECT_EQ(p->colocation(0).op_stretch() > 0, !p->colocation(0).pinned());
  // One kernel thread per stage: the ops' CPU time is measured beside their wall time.
  EXPECT_GT(p->colocation(0).op_cpu_stretch(), 0);
}

TEST(Profile, ABigModelHasNoColdTimesItsHotOnesAreColdAlready) {
  ProfileOptions o = Tiny();
  o.model.n_embd = 1024;
  o.model.n_head = 8;
  o.model.block_size = 1024;
  o.B = 8;
  EXPECT_EQ(ColdRecords(o), 0);  // one record of 2 blocks at B T C = 8 M floats x 16 x 2 > 128 MiB
  EXPECT_EQ(ColdRecords(Tiny()), kMaxColdRecords);
}

// Cold as under GPipe, both ways: between a record's backward read and its next forward write, and
// between that write and its read, about half a cycle of the other records passes. The earlier
// order (backward reads the record the next forward writes) had 1 round before the forward.
TEST(Profile, ColdRecordsLieUntouchedHalfACycleBeforeEveryUse) {
  for (int C : {1, 2, 3, 7, 16}) {
    std::vector<int> last_use(C, -1);
    int forward_gap = C, backward_gap = C;
    for (int round = 0; round < 4 * C; ++round) {
      const ColdRound r = ColdRecordsOf(round, C);
      ASSERT_TRUE(r.forward >= 0 && r.forward < C && r.backward >= 0 && r.backward < C);
      if (round >= C) {
        forward_gap = std::min(forward_gap, round - last_use[r.forward]);
        backward_gap = std::min(backward_gap, round - last_use[r.backward]);
      }
      last_use[r.forward] = round;   // written
      last_use[r.backward] = round;  // read (the same round, after the forward)
    }
    if (C >= 2) {
      EXPECT_EQ(forward_gap, C - C / 2) << C << " records";
      EXPECT_EQ(backward_gap, C / 2) << C << " records";
    }
  }
}

TEST(ColocationProbe, SlicesCoverTheModelAndRepeatLayersBeyondIt) {
  EXPECT_EQ(ColocationSlice(8, 2, 0), (std::pair<int, int>{0, 4}));
  EXPECT_EQ(ColocationSlice(8, 2, 1), (std::pair<int, int>{4, 8}));
  EXPECT_EQ(ColocationSlice(8, 3, 2), (std::pair<int, int>{5, 8}));
  EXPECT_EQ(ColocationSlice(4, 6, 5), (std::pair<int, int>{1, 2}));
  // More stages than CPUs: unpinned, as paci train --pin auto leaves them, and handing micro-batches
  // on as a pipeline's stages do (the probe's relay: one that deadlocked would hang here).
  ProfileOptions o = Tiny();
  const int many = static_cast<int>(allowed_cpus().size()) + 1;
  const Result<ir::ColocationFactor> c = MeasureColocation(o, many);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_FALSE(c->pinned());
  EXPECT_EQ(c->stages(), static_cast<uint32_t>(many));
  EXPECT_GT(c->slowdown(), 0);
  // Their ops alone, the waits for a turn left out: stretched by no more than the whole step.
  EXPECT_GT(c->op_stretch(), 0);
  EXPECT_LE(c->op_stretch(), c->slowdown() * 1.0001);
  EXPECT_GT(c->op_cpu_stretch(), 0);
  // The thread's clock misses the other kernel threads of a stage: not measured with more.
  o.threads = 2;
  const Result<ir::ColocationFactor> two = MeasureColocation(o, many);
  ASSERT_TRUE(two.ok()) << two.status().message();
  EXPECT_EQ(two->op_cpu_stretch(), 0);
}

}  // namespace
}  // namespace paci::exec
