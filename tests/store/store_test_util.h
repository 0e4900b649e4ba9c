// Helpers for the store tests: a temporary directory per test, a synthetic pipeline run written
// as TraceEvents (the tests do not depend on the simulator), and file bytes for before/after
// comparisons.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "paci.pb.h"
#include "store/run_info.h"

namespace paci::store::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "paci-store-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

inline ir::TraceEvent Event(uint64_t id, uint32_t stage, uint32_t chunk, uint64_t mb,
                            ir::OpKind kind, int64_t start, int64_t end, int64_t version,
                            uint64_t live) {
  ir::TraceEvent e;
  e.set_op_id(id);
  e.set_stage(stage);
  e.set_chunk(chunk);
  e.set_micro_batch(mb);
  e.set_kind(kind);
  e.set_start_ns(start);
  e.set_end_ns(end);
  e.set_weight_version(version);
  e.set_live_bytes(live);
  const bool send = kind == ir::SEND_ACTIVATION || kind == ir::SEND_GRAD;
  const bool recv = kind == ir::RECV_ACTIVATION || kind == ir::RECV_GRAD;
  e.set_lane(send ? ir::LANE_SEND : recv ? ir::LANE_RECV : ir::LANE_COMPUTE);
  return e;
}

// A GPipe-shaped run on P stages and M micro-batches with unit times (F = 10 ns, B = 20 ns,
// messages 1 ns): stage s runs F(n) at 10(n-1+s), all backwards after the last forward, with sends,
// receives and one optimizer step per stage. Weight versions rise by one per backward on each
// stage, so micro-batch n's drift at every stage is n-1. Op ids are dense, stage-major.
inline std::vector<ir::TraceEvent> GpipeRun(uint32_t P, uint64_t M) {
  std::vector<ir::TraceEvent> ops;
  uint64_t id = 0;
  const int64_t f = 10, b = 20, msg = 1;
  const int64_t fwd_end = f * static_cast<int64_t>(M + P - 1);  // last forward on last stage ends
  for (uint32_t s = 0; s < P; ++s) {
    for (uint64_t n = 1; n <= M; ++n) {
      const int64_t t = f * static_cast<int64_t>(n - 1 + s);
      if (s > 0) ops.push_back(Event(id++, s, 0, n, ir::RECV_ACTIVATION, t - msg, t, -1, n * 100));
      ops.push_back(Event(id++, s, 0, n, ir::FORWARD, t, t + f, 0, n * 100));
      if (s + 1 < P) ops.push_back(Event(id++, s, 0, n, ir::SEND_ACTIVATION, t + f, t + f + msg, -1, n * 100));
    }
    for (uint64_t n = 1; n <= M; ++n) {
      const int64_t t = fwd_end + b * static_cast<int64_t>(n - 1 + (P - 1 - s));
      if (s + 1 < P) ops.push_back(Event(id++, s, 0, n, ir::RECV_GRAD, t - msg, t, -1, (M - n + 1) * 100));
      ops.push_back(Event(id++, s, 0, n, ir::BACKWARD, t, t + b, static_cast<int64_t>(n - 1), (M - n) * 100));
      if (s > 0) ops.push_back(Event(id++, s, 0, n, ir::SEND_GRAD, t + b, t + b + msg, -1, (M - n) * 100));
    }
    const int64_t t = fwd_end + b * static_cast<int64_t>(M + P - 1 - s);
    ops.push_back(Event(id++, s, 0, M, ir::OPTIMIZER_STEP, t, t + 5, static_cast<int64_t>(M), 0));
  }
  return ops;
}

inline RunInfo GpipeInfo(uint32_t P, uint64_t M, RunKind kind = RunKind::kPredicted) {
  RunInfo info;
  info.kind = kind;
  info.name = "gpipe test";
  ir::Schedule schedule;
  schedule.set_ir_version(1);
  schedule.mutable_spec()->set_stages(P);
  schedule.mutable_spec()->set_microbatches_per_iteration(static_cast<uint32_t>(M));
  schedule.mutable_spec()->set_total_microbatches(M);
  schedule.mutable_spec()->set_kind(ir::GPIPE);
  info.schedule = schedule;
  info.spec = schedule.spec();
  ir::CostModel cost;
  cost.add_stages()->set_forward_ns(10);
  cost.set_tokens_per_microbatch(2048);
  info.cost_model = cost;
  info.description = R"({"model": "tiny", "data": "synthetic"})";
  info.code_revision = "test-rev";
  return info;
}

}  // namespace paci::store::testing
