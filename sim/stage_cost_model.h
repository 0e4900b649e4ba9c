// StageCostModel: an ir::CostModel resolved for one schedule, so the engine's hot loop only reads
// small arrays. It gives each compute op its duration (stage cost / V per chunk for interleaved
// schedules, times a jitter factor), each message its transfer time, and each stage its memory
// sizes. Jitter is drawn from a hash of (seed, op id), not from a stream, so a duration does not
// depend on the order in which the engine happens to play ops. Immutable after Create.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "paci.pb.h"
#include "proto/status.h"
#include "sched/expanded_schedule.h"
#include "sched/limits.h"
#include "sched/op_trace.h"

namespace paci::sim {

// Beyond these the log-normal factor is 0 for nearly every op (makespan 0) or its tail overflows.
inline constexpr double kMaxJitterCv = 10;
inline constexpr double kMaxStragglerFactor = 1000;
// A co-location slowdown (cost models, profiles): an op of kMaxOpNs slowed this much still ends
// before 2^63 ns. Beyond it the slowed end overflowed into a shorter makespan (issue 25: 1e15
// gave 0.59 ms against 1.24 ms without co-location). kMaxStages stages sharing fairly give 4096.
inline constexpr double kMaxColocationSlowdown = 4096;

// Bytes one stage holds besides live activations.
struct StageMemory {
  uint64_t activation_bytes = 0;   // per live forward output of one chunk (M_B / V)
  uint64_t weight_grad_bytes = 0;  // per pending weight-gradient of one chunk (M_W / V)
  uint64_t weight_bytes = 0;       // one weight copy of the whole stage
  uint64_t static_bytes = 0;       // gradient buffer + optimizer state
  uint64_t transient_bytes = 0;    // a staleness compensation's one-layer estimate (while an op runs)
};

class StageCostModel {
 public:
  // Checks `cost` against P stages: `stages` has 1 or P entries, `links` 0, 1, P-1 or P (the P-th
  // is the wrap link P-1 -> 0 of interleaved schedules; with P-1 entries the wrap costs link 0),
  // no negative time, jitter cv >= 0, straggler stage in range, `device` empty or P entries,
  // co-location slowdowns finite and > 0. `chunks` V divides compute times.
  static Result<StageCostModel> Create(const ir::CostModel& cost, uint32_t stages, uint32_t chunks);

  // Duration of a compute op in ns (0 for send and receive ops), jitter included.
  int64_t Duration(const PlainOp& op) const {
    const int64_t base = base_ns_[op.stage * kKinds + KindSlot(op.kind)];
    return jitter_ ? Jittered(base, op.id) : base;
  }

  // Time a message occupies the sender's send lane and travels: latency + bytes / bandwidth.
  // `link` is min(from, to) for neighbours and P-1 for the wrap between stage P-1 and stage 0.
  int64_t TransferNs(uint32_t link) const { return transfer_ns_[link]; }

  const StageMemory& Memory(uint32_t stage) const { return memory_[stage]; }

  // Co-location: the device of each stage, whether a stage shares its device with another stage
  // (and sharing slows ops down), and the slowdown while `busy` stages of a device compute.
  uint32_t Device(uint32_t stage) const { return device_.empty() ? stage : device_[stage]; }
  bool SharesDevice(uint32_t stage) const { return !shared_.empty() && shared_[stage]; }
  bool AnyShared() const { return !shared_.empty(); }
  uint32_t devices() const { return devices_; }
  double Slowdown(uint32_t busy) const {
    if (busy < 2 || slowdown_.empty()) return 1.0;
    return slowdown_[std::min<size_t>(busy - 2, slowdown_.size() - 1)];
  }
  // Ops a shared device runs at once (CostModel.device_slots); 0: no limit.
  uint32_t Slots() const { return slots_; }
  uint64_t tokens_per_microbatch() const { return tokens_per_microbatch_; }
  uint32_t stages() const { return stages_; }

  // The log-normal factor (mean 1, given cv) applied to op `op_id`; 1 when jitter is off.
  double JitterFactor(uint64_t op_id) const;

 private:
  // A row of base_ns_: the compute kinds in ComputeKindIndex order (sched/op_trace.h), then one
  // slot of zero for sends and receives, so Duration needs no branch on the kind.
  static constexpr int kKinds = kComputeKinds + 1;
  static int KindSlot(ir::OpKind kind) {
    const int k = ComputeKindIndex(kind);
    return k < 0 ? kComputeKinds : k;
  }
  int64_t Jittered(int64_t base, uint64_t op_id) const;

  uint32_t stages_ = 0;
  bool jitter_ = false;
  double sigma_ = 0, mu_ = 0;
  uint64_t seed_ = 0;
  uint64_t tokens_per_microbatch_ = 0;
  std::vector<int64_t> base_ns_;      // [stage * kKinds + kind]
  std::vector<int64_t> transfer_ns_;  // [link]
  std::vector<StageMemory> memory_;
  std::vector<uint32_t> device_;  // empty: stage s on device s
  std::vector<bool> shared_;      // empty: no stage shares its device (or no slowdown)
  std::vector<double> slowdown_;  // [n-2]: while n stages of a device are busy
  uint32_t devices_ = 0;
  uint32_t slots_ = 0;
};

// A CostModel with the same costs on every stage and link (what the CLI flags describe).
struct UniformCost {
  double fwd_ms = 1, bwd_ms = 2, wgrad_ms = 0, opt_ms = 0;
  double latency_us = 0, bandwidth_gbps = 0;  // Gbit/s; 0 = infinite
  double activation_mb = 0, wgrad_mb = 0, weights_mb = 0, message_mb = 0;
  double jitter_cv = 0;
  uint64_t seed = 1;
  int32_t straggler_stage = -1;
  double straggler_factor = 0;
  uint64_t tokens_per_microbatch = 0;
};

// Builds the CostModel of `u`: backward_input = bwd, backward_weight = wgrad (so non-split
// schedules take bwd + wgrad), gradient buffer = weights, optimizer state = 2 x weights (AdamW).
ir::CostModel MakeCostModel(const UniformCost& u);

// Out-of-range values (negative, NaN, beyond int64) saturate, so the cost model's checks refuse
// them instead of a cast being undefined.
inline int64_t MsToNs(double ms) {
  const double ns = ms * 1e6 + (ms >= 0 ? 0.5 : -0.5);
  if (!(ns < 0x1.0p63)) return INT64_MAX;
  return ns > -0x1.0p63 ? static_cast<int64_t>(ns) : INT64_MIN;
}
inline uint64_t MbToBytes(double mb) {
  const double bytes = mb * 1024.0 * 1024.0 + 0.5;
  if (!(bytes < 0x1.0p64)) return UINT64_MAX;
  return bytes > 0 ? static_cast<uint64_t>(bytes) : 0;
}

}  // namespace paci::sim
