// PipelineTrainer: trains the GPT model with any schedule IR across stage workers: all stages as
// threads of this process (in-process transport), or this process as one stage of many (MPI:
// one rank per stage). Both play the same IR with the same batches and report the same losses.
// Each stage runs on a StageBackend: the CPU one by default, or one the caller's factory makes
// (the CUDA backend: all stages on one GPU as threads, or one GPU per rank).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "exec/runtime/fault_injection.h"
#include "exec/runtime/memory_plan.h"
#include "exec/runtime/pipeline_checkpoint.h"
#include "exec/runtime/stage_worker.h"
#include "exec/runtime/transport.h"

namespace paci::exec {

// What a backend factory is asked for: one stage's slices, its share of the initial weights.
struct BackendRequest {
  uint32_t stage = 0;
  std::vector<LayerRange> chunks;  // the stage's slices, by chunk
  const TrainConfig* train = nullptr;
  float* params = nullptr;  // whole-model host buffers (initial weights; the CPU trains in place)
  float* grads = nullptr;
  bool pipemare = false;  // keep PipeMare's EMA of weight updates
  float pipemare_gamma = 0.9f;
  Staleness staleness;  // the backend applies rewind, predict and delay-comp
  std::chrono::steady_clock::time_point origin;
  StageMemoryPlan memory;  // records and buffers to make up front (memory_plan.h)
};
using BackendFactory = std::function<Result<std::unique_ptr<StageBackend>>(const BackendRequest&)>;

// The CPU backend of one stage, what an empty PipelineConfig::backend stands for (`async`:
// PipelineConfig::cpu_async). A factory that wraps it (a test's slow set-up) calls it.
Result<std::unique_ptr<StageBackend>> MakeCpuBackend(const BackendRequest& req, bool async = false);

// A benchmark's control over the CPU backend's micro-batch records (bench/schedule_forward_bench.cc
// gives 1F1B-flush GPipe's): at least `min_per_chunk` records per chunk, used in rotation. Off
// (zero) in training, where each stage keeps the schedule's peak and reuses the first idle one.
struct RecordControl {
  uint32_t min_per_chunk = 0;
};

struct PipelineConfig {
  TrainConfig train;      // model, micro-batch size, LR schedule, AdamW, seed, eval batches
  std::string partition;  // "--partition" cut points; empty = balanced by compute
  std::chrono::milliseconds recv_timeout{60000};
  PipeMareConfig pipemare;
  Staleness staleness;     // a staleness compensation (sched/staleness.h); the tools check it applies
  FaultSpec fault;         // none unless a test or drill asks for a failing stage
  BackendFactory backend;  // empty: the CPU backend
  bool cpu_async = false;  // CPU backend: ops on a CpuStream, times read back (tests the GPU path)
  int64_t eval_every = 0;  // validation loss every N updates (threads only)
  const PipelineState* resume = nullptr;  // start from a checkpoint's drained point
  bool keep_state = false;  // fill PipelineResult::state (for --save; on the last rank with MPI)
  std::vector<std::vector<int>>
      stage_cpus;                // threads: stage s's thread pinned to these CPUs; empty: not pinned
  RecordControl record_control;  // benchmarks only; the CPU backend, threads
};

struct PipelineResult {
  std::vector<StageReport> stages;        // threads: every stage; MPI: this rank's only
  std::vector<ir::UpdateMetric> updates;  // per optimizer update, from the stage holding the loss
  std::vector<LayerRange> partition;      // per virtual stage
  float val_loss = 0.0f;                  // after training (threads; MPI on the last rank)
  double seconds = 0.0;                   // wall time of the whole call (set-up and validation included)
  double op_span_seconds = 0.0;           // threads: first op's start to last op's end (0: unknown)
  std::vector<float> params;              // the trained whole model (threads; MPI on the last rank)
  PipelineState state;                    // with keep_state: everything a resumed run needs
};

// Checks the schedule against the model (enough layers, no tied head across stages, no global
// gradient clipping) and returns the slice of each virtual stage.
Result<std::vector<LayerRange>> PlanPipeline(const ir::Schedule& schedule, const PipelineConfig& cfg);

// All stages in this process, one thread each. `sink` may be null; it is called from one thread at
// a time.
Result<PipelineResult> TrainPipelineThreads(const ir::Schedule& schedule, const PipelineConfig& cfg,
                                            const DataSplit& data, TraceSink* sink);

// This process plays stage transport.stage(). At the end every stage sends its trained weights to
// the last stage, which computes the validation loss. `prepared`, when given, is called once the
// stage is set up and before its first op: a job passes a barrier across its ranks there, so that
// every stage starts together, as TrainPipelineThreads' do.
Result<PipelineResult> TrainPipelineStage(const ir::Schedule& schedule, const PipelineConfig& cfg,
                                          const DataSplit& data, Transport& transport, TraceSink* sink,
                                          const std::function<void()>& prepared = {});

// Mean loss of `batches` fixed sequential windows from the start of `tokens`.
float EvaluateLoss(const GPTConfig& model, const float* params, const std::vector<uint16_t>& tokens, int B,
                   int batches);

}  // namespace paci::exec
