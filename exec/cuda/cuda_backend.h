// CudaBackend: a pipeline stage on one GPU, the StageBackend (exec/runtime/stage_backend.h) the
// same stage worker drives as on the CPU, so every schedule and weight policy runs here too:
// live weights, PipeDream's stashed copies, 2BW's older buffer, PipeMare's corrected weights.
// Weights (fp32 master + the bf16 copy the GEMMs read in bf16 mode), gradients, AdamW state,
// saved activations and messages live on the device. Every op is issued on the stage's own
// stream and returns at once; its start and end are CUDA events, read back by the worker once they
// have passed. Several backends on one GPU (one per stage thread) give the one-GPU mode: stages
// overlap as far as their streams let them. Messages go device to device through a transport that
// moves device buffers (NCCL), and through host memory otherwise (threads, MPI).
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <vector>

#include "exec/cuda/record_pool.h"
#include "exec/cuda/stage_cuda.h"
#include "exec/runtime/layer_partition.h"
#include "exec/runtime/pipeline_trainer.h"
#include "exec/runtime/stage_backend.h"

namespace paci::exec {

struct CudaBackendSetup {
  GPTConfig model;
  int B = 1;
  AdamWConfig adamw;
  ir::Precision precision = ir::PRECISION_BF16;
  std::vector<LayerRange> chunks;      // this stage's layer slices, by chunk
  const float* init_params = nullptr;  // whole-model host weights; the stage uploads its spans
  bool pipemare_delta = false;
  float pipemare_gamma = 0.9f;
  int device = 0;
  std::chrono::steady_clock::time_point origin;
};

class CudaBackend : public StageBackend {
 public:
  static Result<std::unique_ptr<CudaBackend>> Create(const CudaBackendSetup& setup);
  ~CudaBackend() override;

  // `ahead` and `stale` are ignored: the compensations that use them (predict, delay-comp) are
  // refused on this backend (sched/staleness.h RunsOnCuda), by CudaBackendFactory too.
  Status Forward(const MicroBatchSlot& slot, int64_t version, int64_t ahead, const int* tokens,
                 const int* targets) override;
  Status Backward(const MicroBatchSlot& slot, int64_t version, int64_t correction, float dloss,
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
  uint64_t LiveBytes() const override { return memory_.live(); }
  uint64_t PeakBytes() const override { return memory_.peak(); }
  uint64_t ActivationBytes() const override { return activation_bytes_; }
  void ExportChunk(uint32_t chunk, ChunkState* out) const override;
  void ImportChunk(uint32_t chunk, const ChunkState& in) override;
  // The first CUDA/cuBLAS/NCCL error any method hit (sticky), Ok while none; see Guard.
  Status Failure() const override { return failed_; }

 private:
  struct Weights {
    DeviceBuffer master, bf16;  // bf16 only in bf16 mode
  };
  struct Chunk {
    StageModelCuda model;
    AdamWCuda opt;
    Weights live;
    DeviceBuffer grads, delta, before;  // delta, before: PipeMare
    size_t n = 0;
  };
  // A device message buffer; `freed` is recorded where its last reader ran.
  struct Message {
    DeviceBuffer buf;
    cudaEvent_t freed = nullptr;
  };
  // Staging for one forward's token ids: pinned host, device, and when the forward has read them.
  struct IdsSlot {
    int* host = nullptr;
    DeviceBuffer dev;
    cudaEvent_t read = nullptr;
  };
  // Pinned staging of one host-transport receive; `copied` passes once its upload has landed.
  struct RecvStaging {
    void* host = nullptr;
    cudaEvent_t copied = nullptr;
  };
  struct Timer {
    cudaEvent_t start = nullptr, end = nullptr;
    uint64_t live_bytes = 0;
  };

  CudaBackend() = default;
  static Result<std::unique_ptr<CudaBackend>> CreateImpl(const CudaBackendSetup& setup);
  // Runs f (returning Status) with CUDA errors thrown, recording the first as failed_.
  template <typename F>
  Status Guard(const char* method, F&& f) const;
  // The methods' bodies; they may throw CudaError (inside Guard only).
  Status ForwardImpl(const MicroBatchSlot& slot, int64_t version, const int* tokens, const int* targets);
  Status BackwardImpl(const MicroBatchSlot& slot, int64_t version, int64_t correction, float dloss,
                      bool with_weight);
  Status BackwardWeightImpl(const MicroBatchSlot& slot);
  void OptimizerStepImpl(const std::vector<float>& lr);
  void KeepVersionImpl(int64_t version);
  Status SendImpl(Transport& transport, uint32_t to_stage, const MessageKey& key, const MicroBatchSlot& slot);
  Status RecvImpl(Transport& transport, uint32_t from_stage, const MessageKey& key,
                  const MicroBatchSlot& slot, std::chrono::milliseconds timeout);
  uint64_t BeginOpImpl();
  void EndOpImpl(uint64_t timer);
  bool OpTimesIfDoneImpl(uint64_t timer, bool wait, OpTimes* times);
  void ExportChunkImpl(uint32_t chunk, ChunkState* out) const;
  void ImportChunkImpl(uint32_t chunk, const ChunkState& in);
  Result<StageWeightsCuda> WeightsAt(uint32_t chunk, int64_t version) const;
  void UploadWeights(Chunk& c, const float* host);
  Message* AcquireMessage(bool idle_only);
  void RetireSends();  // sending_ -> free_messages_; called outside exchanges only
  void ReleaseMessage(Message* m);
  cudaEvent_t NewEvent();
  int64_t EventNs(cudaEvent_t e) const;
  size_t MessageBytes() const;

  // Every device allocation of this stage is counted here (made inside a DeviceMemoryScope on
  // it). First member, so it outlives the buffers that report their frees to it.
  DeviceMemoryTracker memory_;
  mutable Status failed_;  // sticky: the first device error (set by Guard, also in const methods)
  CudaBackendSetup s_;
  CudaContext ctx_;
  std::vector<Chunk> chunks_;
  int64_t live_version_ = 0;
  std::map<int64_t, std::vector<Weights>> kept_;  // version -> per chunk
  std::vector<Weights> spare_weights_;            // dropped copies, reused (same stream)
  Weights corrected_;                             // PipeMare's backward weights
  std::map<MicroBatchSlot, std::unique_ptr<StageSavedCuda>> saved_;
  ChunkRecordPool<StageSavedCuda> spare_saved_;     // per chunk: a record keeps its chunk's sizes
  std::vector<std::unique_ptr<Message>> messages_;  // owns every message buffer
  std::vector<Message*> free_messages_;
  // Sent over a transport that posts at EndExchange (NCCL): their `freed` is recorded only then,
  // so they rejoin free_messages_ at the next compute op, never inside the exchange that sends
  // them (a receive there must not pick a buffer still being sent).
  std::vector<Message*> sending_;
  std::map<MicroBatchSlot, Message*> inbox_, outbox_;
  std::vector<IdsSlot> ids_;
  size_t next_ids_ = 0;
  std::vector<RecvStaging> recv_staging_;
  std::vector<float> send_host_, recv_host_;  // host-staged messages, reused (no per-message allocation)
  size_t next_recv_staging_ = 0;
  std::vector<float*> loss_blocks_;  // pinned host, kLossBlock floats each
  size_t losses_issued_ = 0;
  std::deque<Timer> timers_;
  uint64_t first_timer_ = 0;
  std::vector<cudaEvent_t> spare_events_, all_events_;
  cudaEvent_t origin_ = nullptr;
  int64_t origin_ns_ = 0;  // host time of origin_, ns since s_.origin
  uint64_t activation_bytes_ = 0;
};

// The factory PipelineConfig::backend takes: every stage on the current device (one-GPU mode, or
// the rank's GPU), activations in `precision`.
BackendFactory CudaBackendFactory(ir::Precision precision);

// FLOPs of one token's forward and backward, llm.c's (PaLM's) model-FLOPs estimate:
// 6 * parameters + 6 * n_layer * n_embd * T (causal attention). MFU = this * tokens/s / peak.
double gpt_flops_per_token(const GPTConfig& cfg);

// Dense bf16 tensor-core peak in FLOP/s of a device, by its name (llm.c mfu.h style table):
// H100 SXM and H200 989e12, H100 PCIe 756e12, A100 312e12; 0 when unknown.
double gpu_bf16_peak_flops(const char* device_name);

}  // namespace paci::exec
