// PipelineTrainer: trains the GPT model with any schedule IR across stage workers: all stages as
// threads of this process (in-process transport), or this process as one stage of many (MPI:
// one rank per stage). Both play the same IR with the same batches and report the same losses.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "exec/runtime/fault_injection.h"
#include "exec/runtime/stage_worker.h"
#include "exec/runtime/transport.h"

namespace paci::exec {

struct PipelineConfig {
  TrainConfig train;           // model, micro-batch size, LR schedule, AdamW, seed, eval batches
  std::string partition;       // "--partition" cut points; empty = balanced by compute
  std::chrono::milliseconds recv_timeout{60000};
  PipeMareConfig pipemare;
  FaultSpec fault;             // none unless a test or drill asks for a failing stage
};

struct PipelineResult {
  std::vector<StageReport> stages;        // threads: every stage; MPI: this rank's only
  std::vector<ir::UpdateMetric> updates;  // per optimizer update, from the stage holding the loss
  std::vector<LayerRange> partition;      // per virtual stage
  float val_loss = 0.0f;                  // after training (threads; MPI on the last rank)
  double seconds = 0.0;
  std::vector<float> params;              // the trained whole model (threads; MPI on the last rank)
};

// Checks the schedule against the model (enough layers, no tied head across stages, no global
// gradient clipping) and returns the slice of each virtual stage.
Result<std::vector<LayerRange>> PlanPipeline(const ir::Schedule& schedule, const PipelineConfig& cfg);

// All stages in this process, one thread each. `sink` may be null; it is called from one thread at
// a time.
Result<PipelineResult> TrainPipelineThreads(const ir::Schedule& schedule, const PipelineConfig& cfg,
                                            const DataSplit& data, TraceSink* sink);

// This process plays stage transport.stage(). At the end every stage sends its trained weights to
// the last stage, which computes the validation loss.
Result<PipelineResult> TrainPipelineStage(const ir::Schedule& schedule, const PipelineConfig& cfg,
                                          const DataSplit& data, Transport& transport,
                                          TraceSink* sink);

// Mean loss of `batches` fixed sequential windows from the start of `tokens`.
float EvaluateLoss(const GPTConfig& model, const float* params, const std::vector<uint16_t>& tokens,
                   int B, int batches);

}  // namespace paci::exec
