// The engine against an obvious reference (a dataflow pass over the expanded schedule), the
// weight-version analysis of sched/, docs/method.md §3.2-3.3 (drift, utilisation, communication),
// jitter determinism, memory timelines and error reports.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <tuple>

#include "sched/expanded_schedule.h"
#include "sched/op_messages.h"
#include "sched/schedule_generator.h"
#include "sched/weight_version_analysis.h"
#include "tests/sim/sim_test_util.h"

namespace paci::sim::simtest {
namespace {

ir::Schedule Generate(const ir::PipelineSpec& spec) {
  Result<ir::Schedule> s = GenerateSchedule(spec);
  EXPECT_TRUE(s.ok()) << s.status().message();
  return s.ok() ? *s : ir::Schedule{};
}

struct Times {
  int64_t start, end;
  bool operator==(const Times&) const = default;
};

// The reference: each stage plays its expanded stream as far as it can; a receive takes the
// compute lane to the message's arrival; sends queue FIFO on the stage's send lane. Repeats
// until nothing moves. Slow and obvious; no event queue.
std::map<uint64_t, Times> Reference(const ir::Schedule& schedule, const ir::CostModel& cost) {
  const uint32_t P = schedule.spec().stages(), V = schedule.spec().chunks();
  Result<StageCostModel> model = StageCostModel::Create(cost, P, V);
  EXPECT_TRUE(model.ok());
  const auto ops = ExpandSchedule(schedule);
  std::vector<size_t> pos(P, 0);
  std::vector<int64_t> lane(P, 0), send_free(P, 0);
  std::map<std::tuple<bool, uint64_t, uint32_t, uint32_t>, Times> sent;
  std::map<uint64_t, Times> out;
  for (bool moved = true; moved;) {
    moved = false;
    for (uint32_t s = 0; s < P; ++s) {
      for (; pos[s] < ops[s].size(); ++pos[s], moved = true) {
        const PlainOp& op = ops[s][pos[s]];
        const std::optional<MessageKey> k = MessageOf(op, P, V);
        if (IsSend(op.kind)) {
          const uint32_t lo = std::min(k->from_virtual, k->to_virtual) % P;
          const int64_t start = std::max(lane[s], send_free[s]);
          send_free[s] = start + model->TransferNs(lo);
          out[op.id] = sent[{k->is_grad, k->micro_batch, k->from_virtual, k->to_virtual}] =
              Times{start, send_free[s]};
        } else if (IsRecv(op.kind)) {
          auto it = sent.find({k->is_grad, k->micro_batch, k->from_virtual, k->to_virtual});
          if (it == sent.end()) break;
          lane[s] = std::max(lane[s], it->second.end);
          out[op.id] = it->second;
        } else {
          out[op.id] = Times{lane[s], lane[s] + model->Duration(op)};
          lane[s] = out[op.id].end;
        }
      }
    }
  }
  for (uint32_t s = 0; s < P; ++s) EXPECT_EQ(pos[s], ops[s].size()) << "reference stuck at stage " << s;
  return out;
}

ir::CostModel JitteredCost(double cv, uint64_t seed, double latency_us, double gbps) {
  UniformCost u;
  u.fwd_ms = 1;
  u.bwd_ms = 1.5;
  u.wgrad_ms = 0.5;
  u.opt_ms = 0.25;
  u.latency_us = latency_us;
  u.bandwidth_gbps = gbps;
  u.message_mb = 1;
  u.jitter_cv = cv;
  u.seed = seed;
  return MakeCostModel(u);
}

std::vector<ir::PipelineSpec> AllKinds(uint32_t P) {
  return {Spec(ir::GPIPE, P, 8, 0, 16),
          Spec(ir::ONE_F_ONE_B_FLUSH, P, 8, 0, 24),
          Spec(ir::INTERLEAVED_1F1B, P, 2 * P, 0, 4 * P, 2),
          Spec(ir::ZB_H1, P, 8, 0, 16),
          Spec(ir::PIPEDREAM, P, 0, 1, 40),
          Spec(ir::PIPEDREAM_2BW, P, 0, P, 40),
          Spec(ir::PIPEMARE, P, 0, 3, 40),
          Spec(ir::PACI, P, 0, 3, 41)};
}

// Every op's start and end equal the reference's, for every schedule, with jitter, latency,
// bandwidth and a straggler (so ties and waits of every kind occur).
TEST(Engine, MatchesReferenceOnEveryOp) {
  for (uint32_t P : {1u, 2u, 4u}) {
    for (const ir::PipelineSpec& spec : AllKinds(P)) {
      for (auto [cv, lat, gbps] : {std::tuple{0.0, 0.0, 0.0}, {0.3, 20.0, 80.0}, {0.1, 700.0, 8.0}}) {
        SCOPED_TRACE(::testing::Message() << "kind " << spec.kind() << " P " << P << " cv " << cv);
        ir::CostModel cost = JitteredCost(cv, 7, lat, gbps);
        cost.mutable_jitter()->set_straggler_stage(P - 1);
        cost.mutable_jitter()->set_straggler_factor(1.5);
        const ir::Schedule schedule = Generate(spec);
        VectorTraceSink sink;
        SimulationOptions o;
        o.sink = &sink;
        Result<SimulationResult> r = Simulate(schedule, cost, o);
        ASSERT_TRUE(r.ok()) << r.status().message();
        const auto ref = Reference(schedule, cost);
        ASSERT_EQ(sink.ops.size(), ref.size());
        EXPECT_EQ(r->ops, ref.size());
        int64_t makespan = 0;
        for (const ir::TraceEvent& e : sink.ops) {
          ASSERT_TRUE(ref.count(e.op_id()));
          EXPECT_EQ((Times{e.start_ns(), e.end_ns()}), ref.at(e.op_id())) << "op " << e.op_id();
          makespan = std::max(makespan, e.end_ns());
        }
        EXPECT_EQ(r->makespan_ns, makespan);
      }
    }
  }
}

// Drift, versions and in-flight counts equal sched's weight-version analysis for every
// schedule (they depend on stream order only, not on timing).
TEST(Engine, MatchesWeightVersionAnalysis) {
  for (uint32_t P : {2u, 4u, 8u}) {
    for (const ir::PipelineSpec& spec : AllKinds(P)) {
      SCOPED_TRACE(::testing::Message() << "kind " << spec.kind() << " P " << P);
      const ir::Schedule schedule = Generate(spec);
      Result<WeightVersionReport> a = AnalyzeWeightVersions(schedule);
      ASSERT_TRUE(a.ok()) << a.status().message();
      Result<SimulationResult> r = Simulate(schedule, JitteredCost(0.2, 3, 5, 0));
      ASSERT_TRUE(r.ok()) << r.status().message();
      for (uint32_t s = 0; s < P; ++s) {
        const StageVersionStats& want = a->stages[s];
        const StageMetrics& got = r->stages[s];
        EXPECT_EQ(int64_t{got.max_drift}, want.max_drift) << "stage " << s;
        EXPECT_NEAR(got.mean_drift, want.mean_drift, 1e-12) << "stage " << s;
        EXPECT_EQ(got.drift_histogram, want.histogram) << "stage " << s;
        EXPECT_EQ(got.weight_versions, want.weight_versions) << "stage " << s;
        EXPECT_EQ(got.peak_activations, want.peak_inflight) << "stage " << s;
        EXPECT_EQ(got.peak_weight_grads, want.peak_pending_weight_grads) << "stage " << s;
        EXPECT_EQ(got.optimizer_steps, want.optimizer_steps) << "stage " << s;
        EXPECT_EQ(int64_t{got.max_gradient_staleness}, want.max_gradient_staleness) << "stage " << s;
        EXPECT_NEAR(got.mean_gradient_staleness, want.mean_gradient_staleness, 1e-12) << "stage " << s;
      }
    }
  }
}

// PipeMare plays PACI's version algebra with the same streams, but holds the EMA of its weight
// updates and the backward's corrected weights beside its one version: two weight copies more.
TEST(Engine, PipeMareCountsItsExtraWeightBuffers) {
  ir::CostModel cost = Cost(1, 2);
  for (ir::StageCost& c : *cost.mutable_stages()) {
    c.set_weight_bytes(1000);
    c.set_activation_bytes(10);
  }
  const SimulationResult paci = Sim(Spec(ir::PACI, 4, 0, 4, 32), cost);
  const SimulationResult pipemare = Sim(Spec(ir::PIPEMARE, 4, 0, 4, 32), cost);
  for (uint32_t s = 0; s < 4; ++s) {
    EXPECT_EQ(paci.stages[s].extra_weight_buffers, 0u);
    EXPECT_EQ(pipemare.stages[s].extra_weight_buffers, 2u);
    EXPECT_EQ(pipemare.stages[s].peak_memory_bytes, paci.stages[s].peak_memory_bytes + 2000) << "stage " << s;
    EXPECT_EQ(pipemare.stages[s].max_gradient_staleness, paci.stages[s].max_gradient_staleness);
  }
}

// docs/method.md §3.2: steady state d(n,s) = max(0, ceil((P-s-r)/K)), v_b = t - 1 on every stage.
TEST(Engine, PaciDriftSteadyState) {
  for (uint32_t P : {4u, 8u, 16u}) {
    for (uint32_t K : {1u, 2u, 3u, 4u, 7u, 8u, 16u, 32u}) {
      VectorTraceSink sink;
      const uint64_t N = 8 * uint64_t{std::max(P, K)};
      Sim(Spec(ir::PACI, P, 0, K, N), Cost(1, 2), &sink);
      std::map<std::pair<uint32_t, uint64_t>, int64_t> vf;
      for (const ir::TraceEvent& e : sink.ops) {
        if (e.kind() == ir::FORWARD) vf[{e.stage(), e.micro_batch()}] = e.weight_version();
        if (e.kind() != ir::BACKWARD) continue;
        const uint64_t n = e.micro_batch(), t = (n - 1) / K + 1, r = n - (t - 1) * K;
        if (n <= P + K) continue;  // the first window sees clamped versions
        const int64_t s = e.stage();
        const int64_t num = int64_t{P} - s - int64_t(r);
        const int64_t d = num <= 0 ? 0 : (num + K - 1) / K;
        EXPECT_EQ(e.weight_version(), int64_t(t) - 1) << "P " << P << " K " << K << " n " << n;
        EXPECT_EQ(e.weight_version() - vf.at({e.stage(), n}), d)
            << "P " << P << " K " << K << " s " << s << " n " << n;
      }
    }
  }
}

// docs/method.md §3.2 table (P = 8): max drift per stage = ceil((7 - s)/K); histograms.
TEST(Engine, PaciDriftTableAndHistograms) {
  for (uint32_t K : {1u, 2u, 4u, 8u, 16u, 32u}) {
    const SimulationResult r = Sim(Spec(ir::PACI, 8, 0, K, 8 * std::max(8u, K)), Cost(1, 2));
    for (const StageMetrics& s : r.stages) EXPECT_EQ(s.max_drift, (7 - s.stage + K - 1) / K) << K;
  }
  // Steady-state histograms: count drifts over whole groups after the start-up.
  auto histogram = [](uint32_t P, uint32_t K, uint32_t stage) {
    VectorTraceSink sink;
    Sim(Spec(ir::PACI, P, 0, K, 40 * K), Cost(1, 2), &sink);
    std::map<uint64_t, int64_t> vf;
    std::map<int64_t, double> h;
    double n_total = 0;
    for (const ir::TraceEvent& e : sink.ops) {
      if (e.stage() != stage) continue;
      if (e.kind() == ir::FORWARD) vf[e.micro_batch()] = e.weight_version();
      if (e.kind() == ir::BACKWARD && e.micro_batch() > 4 * K && e.micro_batch() <= 36 * K) {
        h[e.weight_version() - vf.at(e.micro_batch())] += 1;
        n_total += 1;
      }
    }
    for (auto& [d, c] : h) c /= n_total;
    return h;
  };
  EXPECT_EQ(histogram(8, 8, 0), (std::map<int64_t, double>{{0, 1.0 / 8}, {1, 7.0 / 8}}));
  EXPECT_EQ(histogram(8, 2, 0), (std::map<int64_t, double>{{3, 0.5}, {4, 0.5}}));
  EXPECT_EQ(histogram(8, 2, 1), (std::map<int64_t, double>{{3, 1.0}}));
  const auto h43 = histogram(4, 3, 1);
  EXPECT_NEAR(h43.at(0), 1.0 / 3, 1e-12);
  EXPECT_NEAR(h43.at(1), 2.0 / 3, 1e-12);
}

// Acceptance: a long PACI run (100 x P micro-batches, equal times, free communication) keeps
// every stage busy >= 98% of its span, and its drift is the closed form ceil((P-1-s)/K).
TEST(Engine, LongPaciRunUtilisation) {
  for (auto [P, K] : {std::pair{8u, 8u}, {8u, 4u}, {16u, 16u}, {4u, 2u}}) {
    const uint64_t N = 100 * P;
    const SimulationResult r = Sim(Spec(ir::PACI, P, 0, K, N), Cost(1, 2));
    EXPECT_EQ(r.makespan_ns, int64_t(3 * N + 3 * (P - 1)) * kMs);
    for (const StageMetrics& s : r.stages) {
      const double over_makespan = 1.0 - s.bubble_fraction;
      const double over_own_span = 1.0 - s.span_bubble_fraction;
      EXPECT_GE(over_makespan, 0.98) << "P " << P << " K " << K << " stage " << s.stage;
      EXPECT_GE(over_own_span, 0.98) << "P " << P << " K " << K << " stage " << s.stage;
      EXPECT_EQ(s.max_drift, (P - 1 - s.stage + K - 1) / K);
    }
    std::printf("PACI P=%u K=%u N=%llu: makespan %.0f ms, busy/makespan min %.4f (stage 0 %.4f)\n", P, K,
                static_cast<unsigned long long>(N), r.makespan_ms(),
                1.0 - std::max_element(r.stages.begin(), r.stages.end(),
                                       [](auto& a, auto& b) { return a.bubble_fraction < b.bubble_fraction; })
                          ->bubble_fraction,
                1.0 - r.stages[0].bubble_fraction);
  }
}

// docs/method.md §3.3 with per-hop transfer time c = latency + bytes/bandwidth (c < T_F):
//  - GPipe: the forward and the backward wave each cross P-1 hops once:
//      (M + P - 1)(T_F + T_B) + 2(P - 1)c, for any M.
//  - 1F1B-flush, M <= 2: the same. For 3 <= M <= P + 1 the longest path takes a detour: B_1
//    climbs from stage P-1 to stage j = P + 1 - M, whose F_{M} then descends again, adding
//    2(P - 1 - j)c: (M + P - 1)(T_F + T_B) + (2P + 2M - 6)c.
//  - Long runs (PACI; 1F1B with large M): the window P - s no longer covers the round trip, and
//    stage 0 runs P micro-batches per P(T_F + T_B) + 2(P - 1)c.
TEST(Engine, CommunicationDelaysAsPredicted) {
  const int64_t c = 100000;  // 0.1 ms latency
  UniformCost u;
  u.fwd_ms = 1;
  u.bwd_ms = 2;
  u.latency_us = 100;
  const ir::CostModel latency = MakeCostModel(u);
  for (uint32_t P : {4u, 8u}) {
    for (uint32_t M : {1u, 2u, 3u, 4u, 8u, 16u, 32u}) {
      const int64_t base = int64_t(M + P - 1) * 3 * kMs;
      EXPECT_EQ(Sim(Spec(ir::GPIPE, P, M), latency).makespan_ns, base + 2 * (P - 1) * c);
      const int64_t f1b = Sim(Spec(ir::ONE_F_ONE_B_FLUSH, P, M), latency).makespan_ns;
      if (M <= 2) {
        EXPECT_EQ(f1b, base + 2 * (P - 1) * c);
      } else if (M <= P + 1) {
        EXPECT_EQ(f1b, base + (2 * P + 2 * M - 6) * c) << "P " << P << " M " << M;
      }
    }
    // Steady state: stage 0 starts F_{n+P} exactly P(T_F+T_B) + 2(P-1)c after F_n.
    VectorTraceSink sink;
    Sim(Spec(ir::PACI, P, 0, P, 40 * P), latency, &sink);
    std::vector<int64_t> f0;
    for (const ir::TraceEvent& e : sink.ops)
      if (e.stage() == 0 && e.kind() == ir::FORWARD) f0.push_back(e.start_ns());
    for (size_t n = 4 * P; n + P < f0.size(); ++n)
      EXPECT_EQ(f0[n + P] - f0[n], P * 3 * kMs + 2 * (P - 1) * c) << "P " << P << " n " << n;
  }
  // Bandwidth: a 1 MiB message over 80 Gbit/s (1e10 B/s) takes ceil(104857.6) ns on top of
  // the latency.
  u.message_mb = 1;
  u.latency_us = 50;
  u.bandwidth_gbps = 80;
  const int64_t c2 = 50000 + 104858;
  EXPECT_EQ(Sim(Spec(ir::GPIPE, 8, 16), MakeCostModel(u)).makespan_ns, 23 * 3 * kMs + 14 * c2);
  EXPECT_EQ(Sim(Spec(ir::ONE_F_ONE_B_FLUSH, 8, 2), MakeCostModel(u)).makespan_ns, 9 * 3 * kMs + 14 * c2);
}

// docs/method.md §3.3 / §6.8: 1F1B-flush with hop time c < T_F, any M:
//   (M + P - 1)(T_F + T_B) + (2P + 2M - 6 - 2 floor((M - 2) / P)) c.
// Past M = P + 1 every P-th micro-batch adds nothing, as in the steady state above.
TEST(Engine, FlushLatencyRule) {
  struct Case {
    double f, b, latency_us;
  };
  for (const Case& k : {Case{1, 2, 100}, Case{2, 3, 700}}) {
    UniformCost u;
    u.fwd_ms = k.f;
    u.bwd_ms = k.b;
    u.latency_us = k.latency_us;
    const ir::CostModel cost = MakeCostModel(u);
    const int64_t c = static_cast<int64_t>(k.latency_us * 1000);
    for (int64_t P : {2, 3, 5, 8}) {
      for (int64_t M = 1; M <= 3 * P + 4; ++M) {
        const int64_t floor_div = M >= 2 ? (M - 2) / P : -1;
        const int64_t want =
            (M + P - 1) * static_cast<int64_t>((k.f + k.b) * kMs) + (2 * P + 2 * M - 6 - 2 * floor_div) * c;
        EXPECT_EQ(Sim(Spec(ir::ONE_F_ONE_B_FLUSH, P, M), cost).makespan_ns, want) << "P " << P << " M " << M;
      }
    }
  }
}

// A transfer longer than a forward makes the send lane the bottleneck: stage 0 of GPipe sends
// M activations back to back, so the last arrives at T_F + M * t (FIFO send lane).
TEST(Engine, SendLaneSerialises) {
  UniformCost u;
  u.fwd_ms = 1;
  u.bwd_ms = 2;
  u.latency_us = 3000;  // 3 ms per message > T_F
  VectorTraceSink sink;
  Sim(Spec(ir::GPIPE, 2, 4), MakeCostModel(u), &sink);
  int64_t last_arrival = 0;
  for (const ir::TraceEvent& e : sink.ops)
    if (e.kind() == ir::RECV_ACTIVATION) last_arrival = std::max(last_arrival, e.end_ns());
  EXPECT_EQ(last_arrival, 1 * kMs + 4 * 3 * kMs);
}

std::string SerializedTrace(const ir::CostModel& cost) {
  VectorTraceSink sink;
  Sim(Spec(ir::PACI, 8, 0, 4, 400), cost, &sink);
  std::string out;
  for (const ir::TraceEvent& e : sink.ops) out += e.SerializeAsString();
  for (const ir::MemorySample& m : sink.memory) out += m.SerializeAsString();
  return out;
}

TEST(Engine, JitterIsReproducible) {
  const std::string a = SerializedTrace(JitteredCost(0.2, 42, 10, 100));
  const std::string b = SerializedTrace(JitteredCost(0.2, 42, 10, 100));
  const std::string c = SerializedTrace(JitteredCost(0.2, 43, 10, 100));
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(Engine, JitterFactorHasMeanOneAndGivenCv) {
  Result<StageCostModel> m = StageCostModel::Create(JitteredCost(0.25, 9, 0, 0), 4, 1);
  ASSERT_TRUE(m.ok());
  double sum = 0, sum2 = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double f = m->JitterFactor(static_cast<uint64_t>(i));
    sum += f;
    sum2 += f * f;
  }
  const double mean = sum / n, sd = std::sqrt(sum2 / n - mean * mean);
  EXPECT_NEAR(mean, 1.0, 0.005);
  EXPECT_NEAR(sd / mean, 0.25, 0.005);
}

TEST(Engine, StragglerBoundsThroughput) {
  ir::CostModel cost = Cost(1, 2);
  cost.mutable_jitter()->set_straggler_stage(3);
  cost.mutable_jitter()->set_straggler_factor(2.0);
  const SimulationResult r = Sim(Spec(ir::PACI, 8, 0, 8, 800), cost);
  // The straggler needs 6 ms per micro-batch; everyone else waits for it.
  EXPECT_NEAR(r.throughput_microbatches_per_s, 800 / (r.makespan_ns * 1e-9), 1e-6);
  EXPECT_GT(r.makespan_ns, 800 * 6 * kMs);
  EXPECT_LT(r.makespan_ns, 800 * 6 * kMs + 100 * kMs);
  EXPECT_LT(r.stages[3].bubble_fraction, 0.02);
  EXPECT_GT(r.stages[0].bubble_fraction, 0.49);
}

// Memory samples per stage are in time order, start with the static bytes and peak at the
// stage's peak_memory_bytes; each op's live_bytes is the memory when it ended.
TEST(Engine, MemoryTimeline) {
  UniformCost u;
  u.activation_mb = 10;
  u.weights_mb = 100;
  const uint64_t MB = 1 << 20;
  VectorTraceSink sink;
  const SimulationResult r = Sim(Spec(ir::ONE_F_ONE_B_FLUSH, 4, 8), MakeCostModel(u), &sink);
  std::map<uint32_t, std::vector<ir::MemorySample>> by_stage;
  for (const ir::MemorySample& m : sink.memory) by_stage[m.stage()].push_back(m);
  ASSERT_EQ(by_stage.size(), 4u);
  for (auto& [s, samples] : by_stage) {
    EXPECT_EQ(samples.front().time_ns(), 0);
    EXPECT_EQ(samples.front().live_bytes(), 400 * MB);
    uint64_t peak = 0;
    for (size_t i = 1; i < samples.size(); ++i) EXPECT_LE(samples[i - 1].time_ns(), samples[i].time_ns());
    for (const auto& m : samples) peak = std::max<uint64_t>(peak, m.live_bytes());
    EXPECT_EQ(peak, r.stages[s].peak_memory_bytes);
    EXPECT_EQ(peak, 400 * MB + (4 - s) * 10 * MB);
    EXPECT_EQ(samples.back().live_bytes(), 400 * MB);
  }
  for (const ir::TraceEvent& e : sink.ops)
    if (e.kind() == ir::FORWARD) {
      EXPECT_GT(e.live_bytes(), 400 * MB);
    }
}

TEST(Engine, TraceCoversEveryOpOnce) {
  const ir::Schedule schedule = Generate(Spec(ir::INTERLEAVED_1F1B, 4, 8, 0, 16, 2));
  VectorTraceSink sink;
  SimulationOptions o;
  o.sink = &sink;
  Result<SimulationResult> r = Simulate(schedule, Cost(1, 2), o);
  ASSERT_TRUE(r.ok());
  const uint64_t total = StageIdBases(schedule).back();
  std::vector<int> seen(total, 0);
  for (const ir::TraceEvent& e : sink.ops) {
    ASSERT_LT(e.op_id(), total);
    ++seen[e.op_id()];
    const bool compute = e.kind() != ir::SEND_ACTIVATION && e.kind() != ir::SEND_GRAD &&
                         e.kind() != ir::RECV_ACTIVATION && e.kind() != ir::RECV_GRAD;
    EXPECT_EQ(e.weight_version() >= 0, compute);
    EXPECT_EQ(e.lane(), compute
                            ? ir::LANE_COMPUTE
                            : (e.kind() == ir::SEND_ACTIVATION || e.kind() == ir::SEND_GRAD ? ir::LANE_SEND
                                                                                            : ir::LANE_RECV));
  }
  for (uint64_t i = 0; i < total; ++i) EXPECT_EQ(seen[i], 1) << "op " << i;
  EXPECT_EQ(r->ops, total);
}

TEST(Engine, RejectsCostModelThatDoesNotFit) {
  ir::CostModel cost = Cost(1, 2);
  *cost.add_stages() = cost.stages(0);  // 2 entries for 4 stages
  Result<SimulationResult> r = SimulateSpec(Spec(ir::PACI, 4), cost);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("stages"), std::string::npos) << r.status().message();
  cost = Cost(-1, 2);
  EXPECT_FALSE(SimulateSpec(Spec(ir::PACI, 4), cost).ok());
}

TEST(Engine, ReportsDeadlock) {
  // Stage 1 waits for micro-batch 2's activation first, but stage 0 sends only micro-batch 1.
  ir::Schedule schedule = Generate(Spec(ir::GPIPE, 2, 1));
  schedule = ToExplicit(schedule);
  for (ir::Op& op : *schedule.mutable_streams(1)->mutable_prefix())
    if (op.kind() == ir::RECV_ACTIVATION) op.set_micro_batch(2);
  Result<SimulationResult> r = Simulate(schedule, Cost(1, 2));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("deadlock"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("stage 1"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace paci::sim::simtest
