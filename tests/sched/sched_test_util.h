// Helpers shared by the sched tests: generate a schedule from a few numbers, or fail the test.
#pragma once

#include <gtest/gtest.h>

#include "paci.pb.h"
#include "proto/ir_names.h"
#include "sched/schedule_generator.h"

namespace paci::testing {

struct Gen {
  ir::ScheduleKind kind = ir::PACI;
  uint32_t P = 4, M = 0, K = 0, V = 0;
  uint64_t N = 0;
  std::vector<uint32_t> window = {};
};

inline ir::Schedule Generate(const Gen& g) {
  ir::PipelineSpec spec;
  spec.set_kind(g.kind);
  spec.set_stages(g.P);
  spec.set_microbatches_per_iteration(g.M);
  spec.set_accum(g.K);
  spec.set_chunks(g.V);
  spec.set_total_microbatches(g.N);
  for (uint32_t w : g.window) spec.add_window(w);
  Result<ir::Schedule> s = GenerateSchedule(spec);
  EXPECT_TRUE(s.ok()) << ScheduleName(g.kind) << " P=" << g.P << ": " << s.status().message();
  return s.ok() ? *s : ir::Schedule();
}

}  // namespace paci::testing
