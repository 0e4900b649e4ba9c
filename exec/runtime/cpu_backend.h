// CpuBackend: a pipeline stage on the CPU (Eigen kernels through StageModel, AdamW on the host).
// The stage's weights and gradients are its spans of whole-model buffers the caller owns, so
// threads sharing one process train one model in place. Ops run on the calling thread, or, with
// `async`, on a CpuStream: then they complete later and the worker reads their times back, the
// same path a GPU backend takes. Micro-batch records, message buffers and weight versions come
// from tables sized once by the stage's memory plan (memory_plan.h) and reused, so ops allocate
// no memory in the steady state (with `async`, the stream's queue of closures still does).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "exec/model/stage.h"
#include "exec/runtime/cpu_stream.h"
#include "exec/runtime/layer_partition.h"
#include "exec/runtime/memory_plan.h"
#include "exec/runtime/slot_table.h"
#include "exec/runtime/stage_backend.h"
#include "sched/staleness.h"

namespace paci::exec {

struct CpuBackendSetup {
  GPTConfig model;
  int B = 1;  // micro-batch size; T = model.block_size
  AdamWConfig adamw;
  std::vector<LayerRange> chunks;  // this stage's layer slices, by chunk
  float* params = nullptr;         // whole-model buffers; the backend touches its spans
  float* grads = nullptr;
  bool pipemare_delta = false;  // keep PipeMare's EMA of weight updates
  float pipemare_gamma = 0.9f;
  // A compensation the backend applies (rewind, predict, delay-comp); the lr-only kinds are the
  // worker's, and ignored here.
  Staleness staleness;
  bool async = false;  // run ops on a CpuStream
  // Records and buffers to make before the first op; empty: one per chunk, more made when needed.
  StageMemoryPlan memory;
  std::chrono::steady_clock::time_point origin;
};

class CpuBackend : public StageBackend {
 public:
  static Result<std::unique_ptr<CpuBackend>> Create(const CpuBackendSetup& setup);
  ~CpuBackend() override;

  Status Forward(const MicroBatchSlot& slot, int64_t version, int64_t ahead, const int* tokens,
                 const int* targets) override;
  Status Backward(const MicroBatchSlot& slot, int64_t version, int64_t drift, float dloss,
                  bool with_weight) override;
  Status BackwardWeight(const MicroBatchSlot& slot) override;
  void OptimizerStep(const std::vector<float>& lr, double stale) override;
  void KeepVersion(int64_t version) override;
  void DropVersion(int64_t version) override;
  Status Send(Transport& transport, uint32_t to_stage, const MessageKey& key,
              const MicroBatchSlot& slot) override;
  Status Recv(Transport& transport, uint32_t from_stage, const MessageKey& key, const MicroBatchSlot& slot,
              std::chrono::milliseconds timeout) override;
  void ReadLosses(size_t first, size_t n, float* out) override;
  uint64_t BeginOp() override;
  void EndOp(uint64_t timer) override;
  bool OpTimesIfDone(uint64_t timer, bool wait, OpTimes* times) override;
  void Synchronize() override;
  uint64_t LiveBytes() const override;
  uint64_t ActivationBytes() const override;
  void ExportChunk(uint32_t chunk, ChunkState* out) const override;
  void ImportChunk(uint32_t chunk, const ChunkState& in) override;
  // Records, message buffers and weight copies made past the memory plan (0 when it held).
  size_t BuffersBeyondPlan() const;

 private:
  struct Chunk {
    StageModel model;
    AdamW opt;
    std::vector<float> delta;  // PipeMare: EMA of weight updates
  };
  struct Timer {
    OpTimes times;
    bool done = false;
  };
  // A message buffer: a received input (out = false) or an output waiting for its send.
  struct MessageSlot {
    MicroBatchSlot slot;
    bool out = false;
    bool operator==(const MessageSlot&) const = default;
  };
  // A kept weight version: one copy per chunk.
  using VersionCopy = std::vector<std::vector<float>>;
  explicit CpuBackend(const CpuBackendSetup& setup) : s_(setup) {}
  float* Live(uint32_t c) const { return s_.params + chunks_[c].model.param_offset(); }
  float* Grads(uint32_t c) const { return s_.grads + chunks_[c].model.param_offset(); }
  Result<const float*> Weights(uint32_t chunk, int64_t version) const;
  Result<const float*> BackwardWeights(uint32_t chunk, int64_t version, int64_t correction);
  // The weight scale k of a rewind (k = A x drift) or prediction (k = -A x ahead) on chunk c's
  // estimate; 0 when the backend is not set up for `kind`.
  float EstimateScale(StalenessKind kind, int64_t updates) const;
  int64_t Now() const;
  // Runs `work` now, or on the stream; a failure is returned now or by a later call. A template,
  // so running now wraps nothing in a std::function (no allocation).
  template <class Work>
  Status Run(Work&& work);
  Status ForwardNow(const MicroBatchSlot& slot, int64_t version, int64_t ahead, const int* tokens,
                    const int* targets);
  void StepNow(const std::vector<float>& lr, double stale);
  void Reserve();
  Status TakeError();
  Timer& TimerAt(uint64_t id) { return timers_[timer_head_ + (id - first_timer_)]; }  // with mu_ held

  CpuBackendSetup s_;
  std::vector<Chunk> chunks_;
  int64_t live_version_ = 0;
  SlotTable<int64_t, VersionCopy> kept_;                      // version -> per chunk
  std::vector<SlotTable<MicroBatchSlot, StageSaved>> saved_;  // by chunk
  SlotTable<MessageSlot, std::vector<float>> messages_;
  StageScratch scratch_;
  std::vector<float> corrected_;  // PipeMare's backward weights
  std::vector<float> before_;     // PipeMare: the weights before a step
  std::vector<float> estimate_;   // rewind / predict: one layer's estimated weights
  std::vector<float> last_lr_;    // per chunk, the lr of the last step (the estimates' step size)
  uint64_t activation_bytes_ = 0;
  // Shared with the stream thread.
  mutable std::mutex mu_;
  // Losses not yet read: losses_[i] is the (losses_first_ + i)-th forward's on the last stage.
  std::vector<float> losses_;
  size_t losses_first_ = 0;
  // Timers not yet read: timers_[timer_head_] is handle first_timer_. A vector emptied when all
  // are read (compacted now and then), not a deque, whose blocks come and go as ops pass.
  std::vector<Timer> timers_;
  size_t timer_head_ = 0;
  uint64_t first_timer_ = 0;
  std::optional<Status> error_;
  std::unique_ptr<CpuStream> stream_;
};

// What one micro-batch's record holds (capacity of every buffer).
uint64_t SavedBytes(const StageSaved& s);

}  // namespace paci::exec
