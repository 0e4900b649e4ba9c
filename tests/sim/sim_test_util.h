// Helpers for the simulator tests: specs and uniform cost models in docs/method.md's units (T_F = 1
// means 1 ms), and a run that fails the test with the Status message on error.
#pragma once

#include <gtest/gtest.h>

#include "proto/trace_sink.h"
#include "sim/simulator.h"
#include "sim/stage_cost_model.h"

namespace paci::sim::simtest {

constexpr int64_t kMs = 1000000;

inline ir::PipelineSpec Spec(ir::ScheduleKind kind, uint32_t P, uint32_t M = 0, uint32_t K = 0,
                             uint64_t total = 0, uint32_t V = 0) {
  ir::PipelineSpec s;
  s.set_kind(kind);
  s.set_stages(P);
  s.set_microbatches_per_iteration(M);
  s.set_accum(K);
  s.set_total_microbatches(total);
  s.set_chunks(V);
  return s;
}

inline ir::CostModel Cost(double f, double b, double w = 0, double opt = 0) {
  UniformCost u;
  u.fwd_ms = f;
  u.bwd_ms = b;
  u.wgrad_ms = w;
  u.opt_ms = opt;
  return MakeCostModel(u);
}

inline SimulationResult Sim(const ir::PipelineSpec& spec, const ir::CostModel& cost,
                            TraceSink* sink = nullptr) {
  SimulationOptions o;
  o.sink = sink;
  Result<SimulationResult> r = SimulateSpec(spec, cost, o);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : SimulationResult{};
}

}  // namespace paci::sim::simtest
