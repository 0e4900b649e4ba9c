// StageBackend: the device side of one pipeline stage, what the stage worker (stage_worker.h)
// drives. The worker decides what runs (the schedule IR, the weight-version rule, the order of
// batches, the learning rate); a backend owns the stage's weights, kept weight versions, AdamW
// state, saved activations and message buffers, and runs the ops on its device: CpuBackend
// (cpu_backend.h, Eigen) or CudaBackend (exec/cuda/cuda_backend.h, kernels and cuBLAS on the
// stage's stream). Ops may complete after the call returns; their times are read back later.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <vector>

#include "exec/model/adamw.h"
#include "exec/runtime/transport.h"
#include "proto/status.h"
#include "sched/op_messages.h"

namespace paci::exec {

// One micro-batch's record on a stage: what its forward saved, its messages in and out.
struct MicroBatchSlot {
  uint64_t micro_batch = 0;
  uint32_t chunk = 0;
  auto operator<=>(const MicroBatchSlot&) const = default;
};

// An op's start and end in ns since the run's origin (the worker's steady-clock origin), and the
// bytes the stage held when it ended.
struct OpTimes {
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  uint64_t live_bytes = 0;
};

// One chunk's training state, host side: weights, AdamW moments and step (checkpoints).
struct ChunkState {
  std::vector<float> weights, m, v;
  int64_t step = 0;
};

class StageBackend {
 public:
  virtual ~StageBackend() = default;

  // Forward of `slot` at weight `version` (live, or one kept by KeepVersion). `tokens` (first
  // virtual stage) and `targets` (last) are (B,T) host ids, null otherwise; the input
  // activation is the message Recv stored for `slot`; the output waits for Send. `ahead`: the
  // updates the micro-batch's weights will take before its backward (its drift); a backend set up
  // to predict (sched/staleness.h) runs the forward at its estimate of those weights.
  virtual Status Forward(const MicroBatchSlot& slot, int64_t version, int64_t ahead, const int* tokens,
                         const int* targets) = 0;
  // Backward (input part, and the weight part too when `with_weight`). `dloss` weighs the loss
  // on the last virtual stage. `drift`: the updates since the micro-batch's forward; a backend
  // with a weight estimate runs the backward at its estimate of the forward's weights: PipeMare's
  // w - drift * delta, or the rewind's w + A * drift * step (sched/staleness.h).
  virtual Status Backward(const MicroBatchSlot& slot, int64_t version, int64_t drift, float dloss,
                          bool with_weight) = 0;
  virtual Status BackwardWeight(const MicroBatchSlot& slot) = 0;
  // One AdamW update per chunk at lr[chunk]; gradients are zeroed; the live version advances.
  // `stale`: the mean, over the micro-batches it applies, of the updates between their forward and
  // now, for a backend set up to compensate the delay (delay-comp).
  virtual void OptimizerStep(const std::vector<float>& lr, double stale) = 0;

  // Weight versions besides the live one (PipeDream's stash, 2BW's older buffer).
  virtual void KeepVersion(int64_t version) = 0;  // copies the live weights as `version`
  virtual void DropVersion(int64_t version) = 0;

  // Messages: the output of `slot` to a peer, and a peer's message into `slot`'s input.
  virtual Status Send(Transport& transport, uint32_t to_stage, const MessageKey& key,
                      const MicroBatchSlot& slot) = 0;
  virtual Status Recv(Transport& transport, uint32_t from_stage, const MessageKey& key,
                      const MicroBatchSlot& slot, std::chrono::milliseconds timeout) = 0;

  // Losses of the forwards on the last virtual stage, in issue order; values [first, first + n)
  // may be read once the ops that produced them have completed (see OpTimesIfDone).
  virtual void ReadLosses(size_t first, size_t n, float* out) = 0;

  // Timing: BeginOp before issuing an op, EndOp after; the returned handle resolves to the op's
  // times and live bytes once it has completed. OpTimesIfDone with wait=false never blocks.
  virtual uint64_t BeginOp() = 0;
  virtual void EndOp(uint64_t timer) = 0;
  virtual bool OpTimesIfDone(uint64_t timer, bool wait, OpTimes* times) = 0;
  // Waits for every op issued so far.
  virtual void Synchronize() = 0;

  // Bytes the stage holds now, and what one micro-batch's forward keeps for its backward.
  virtual uint64_t LiveBytes() const = 0;
  // The most bytes the stage's allocator has held at once, counted at every allocation; 0 when
  // the backend does not count (the CPU's peak is the largest LiveBytes sampled at op ends).
  virtual uint64_t PeakBytes() const { return 0; }
  virtual uint64_t ActivationBytes() const = 0;

  // The first device error a method hit (sticky), Ok while there is none. A GPU backend turns a
  // failing CUDA call into a Status rather than exiting the process; methods without a Status
  // return leave it here, and the worker checks it after every op and at the end.
  virtual Status Failure() const { return Status::Ok(); }

  // Training state of chunk c, for checkpoints (after Synchronize).
  virtual void ExportChunk(uint32_t chunk, ChunkState* out) const = 0;
  virtual void ImportChunk(uint32_t chunk, const ChunkState& in) = 0;
};

}  // namespace paci::exec
