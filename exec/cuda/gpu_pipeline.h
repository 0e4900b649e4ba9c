// OneGpuPipeline: the GPU pipeline runtime. One-GPU mode plays a schedule IR with every pipeline
// stage in this process on one GPU, each stage on its own CUDA stream; a RECV makes the receiving
// stream wait on a CUDA event the matching SEND recorded, so stages overlap as far as the GPU lets
// them and a single card runs and traces a whole pipeline. One host thread issues every stage's ops
// in stream order (the kernels are asynchronous), moving to another stage when a RECV's message has
// not been sent yet; every wait is on an event recorded earlier by that thread, so it cannot
// deadlock. Rank mode (a DeviceTransport given to Create) plays only this process's stage, one
// rank per GPU, and moves messages device to device through the transport (NcclTransport).
// Weights, gradients and optimizer state live on the GPU for the whole run; micro-batches cycle
// through a pool sampled once at Create. Weight policies: live weights (PACI) and sync-after-flush
// (GPipe, 1F1B, interleaved, ZB-H1); stashing, double buffering and PipeMare's corrections are
// not implemented here (Run says so). Not thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "exec/cuda/cuda_common.h"
#include "exec/cuda/device_transport.h"
#include "exec/model/data.h"
#include "exec/runtime/layer_partition.h"
#include "exec/model/train.h"
#include "paci.pb.h"
#include "proto/status.h"
#include "proto/trace_sink.h"

namespace paci::exec {

struct OneGpuConfig {
  TrainConfig train;                // model (block_size = T), B, LR schedule, AdamW, seed
  Precision precision = Precision::kBF16;
  std::vector<LayerRange> ranges;   // per virtual stage; empty = partition_balanced
  int batch_pool = 8;               // distinct micro-batches, sampled at Create and cycled
  // All stages on one stream: ops run one at a time, so their times are those of an op alone on
  // the GPU (what a cost model for P separate GPUs needs).
  bool single_stream = false;
};

// Mean GPU time of each compute op kind on one stage (0 where the kind never ran).
struct StageOpTimes {
  double forward_ms = 0, backward_ms = 0, backward_input_ms = 0, backward_weight_ms = 0, optimizer_ms = 0;
};

// In rank mode every count and time is this rank's: losses only on the rank with the loss.
struct OneGpuRunResult {
  double wall_ms = 0;               // GPU time from the run's start to its last op's end
  uint64_t microbatches = 0;        // forwards of the last virtual stage
  uint64_t updates = 0;             // optimizer steps of the first local stage
  uint64_t tokens = 0;              // microbatches * B * T
  std::vector<float> update_losses; // mean training loss per update (from the stage with the loss)
  std::vector<StageOpTimes> stage_times;
  double compute_ms = 0;            // sum of every compute op's duration, all stages
  uint64_t peak_bytes = 0;          // most device memory held by saved activations and messages
};

class OneGpuPipeline {
 public:
  // Allocates weights (initialised from cfg.train.seed as gpt_init_params), gradients, AdamW
  // state, streams and the batch pool for `stages` stages of `chunks` chunks each. With `ranks`
  // (rank mode; it must outlive the pipeline), only stage ranks->stage() lives here, on the current
  // device, and sends and receives go through `ranks`.
  static Result<std::unique_ptr<OneGpuPipeline>> Create(const OneGpuConfig& cfg, uint32_t stages,
                                                        uint32_t chunks, const DataSplit& data,
                                                        DeviceTransport* ranks = nullptr);
  ~OneGpuPipeline();
  OneGpuPipeline(const OneGpuPipeline&) = delete;
  OneGpuPipeline& operator=(const OneGpuPipeline&) = delete;

  // Plays the whole schedule once, then waits for the GPU; training state carries over between
  // calls (the first call can serve as warm-up). `sink` (may be null) gets every op, with GPU start
  // and end times, and every update, after the run.
  Result<OneGpuRunResult> Run(const ir::Schedule& schedule, TraceSink* sink);

  // The whole model's fp32 weights, copied to the host.
  std::vector<float> Params() const;
  const std::vector<LayerRange>& ranges() const;

  struct Impl;

 private:
  explicit OneGpuPipeline(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// FLOPs of one token's forward and backward, llm.c's (PaLM's) model-FLOPs estimate:
// 6 * parameters + 6 * n_layer * n_embd * T (causal attention). MFU = this * tokens/s / peak.
double gpt_flops_per_token(const GPTConfig& cfg);

// Dense bf16 tensor-core peak in FLOP/s of a device, by its name (llm.c mfu.h style table):
// H100 SXM and H200 989e12, H100 PCIe 756e12, A100 312e12; 0 when unknown.
double gpu_bf16_peak_flops(const char* device_name);

}  // namespace paci::exec
