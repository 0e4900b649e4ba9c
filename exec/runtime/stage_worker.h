// StageWorker: plays one pipeline stage's op stream from the schedule IR, in order, on a
// StageBackend (CPU or CUDA): forwards and backwards of its layer slices, sends and receives
// through a Transport, optimizer steps after the K-th backward, weight versions by the schedule's
// policy (WeightVersions). Every op is reported as a TraceEvent with the version it used, once the
// backend says it has completed (at once on the CPU; when its CUDA events have passed on a GPU).
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "exec/model/data.h"
#include "exec/model/train.h"
#include "exec/runtime/layer_partition.h"
#include "exec/runtime/stage_backend.h"
#include "exec/runtime/transport.h"
#include "paci.pb.h"
#include "proto/trace_sink.h"
#include "sched/staleness.h"

namespace paci::exec {

class PipelineEval;

// PipeMare's two corrections (docs/method.md §4.7, recalled from the paper): per-stage learning-rate
// rescheduling lr * tau^-p with p annealed from 1 to 0 over `lr_warmup` updates, and the backward run at w -
// d * delta, delta an EMA (factor `gamma`) of the stage's weight updates, d the drift.
struct PipeMareConfig {
  int64_t lr_warmup = 100;
  float gamma = 0.9f;
};

// Where a schedule segment starts: a fresh run, or a drained point a checkpoint recorded.
struct SegmentStart {
  int64_t updates = 0;  // optimizer updates done before this segment
  uint64_t tokens = 0;  // training tokens seen before it
  bool resumed = false;
  Sampler sampler;  // the batch sampler's state when resumed
};

struct StageWorkerSetup {
  const ir::Schedule* schedule = nullptr;
  uint32_t stage = 0;
  TrainConfig train;                       // model, B, lr schedule, seed, sampler
  std::vector<LayerRange> virtual_ranges;  // per virtual stage v = chunk * P + stage
  StageBackend* backend = nullptr;         // the stage's device: weights, activations, messages
  const DataSplit* data = nullptr;
  Transport* transport = nullptr;
  TraceSink* sink = nullptr;     // may be null
  PipelineEval* eval = nullptr;  // validation every N updates; may be null
  std::chrono::milliseconds recv_timeout{60000};
  PipeMareConfig pipemare;
  // A staleness compensation (sched/staleness.h). The worker applies the lr-only kinds
  // (drift-lr-scale: each step's lr / (1 + A x the mean drift of the micro-batches it applies;
  // stage-lr: / (1 + A x the stage's largest drift)) and hands the backend what the others need:
  // each forward's drift to come, each backward's drift, each step's mean gradient staleness.
  Staleness staleness;
  SegmentStart start;
};

struct StageReport {
  uint64_t ops = 0;
  uint64_t peak_bytes = 0;
  int64_t max_drift = 0;
  int weight_versions = 1;         // most versions held at once
  uint64_t activation_bytes = 0;   // what one micro-batch's forward keeps for its backward
  int64_t first_op_start_ns = -1;  // the stage's ops, from the run's origin (-1: none ran)
  int64_t last_op_end_ns = 0;
  std::vector<ir::UpdateMetric> updates;  // filled by the stage that holds the loss
  Sampler sampler;                        // the batch sampler's state at the end
};

// Plays the whole stream. On failure (a timeout, an aborted peer) the Status names the stage and
// the op; the caller aborts the transport so the other stages stop too.
Status RunStageWorker(const StageWorkerSetup& setup, StageReport* report);

// Number of optimizer updates in the schedule (one stage's OPTIMIZER_STEP ops).
int64_t CountUpdates(const ir::Schedule& schedule);

// Length of the learning-rate schedule: --decay-updates, or every update of the run.
int64_t DecayLength(const TrainConfig& train, const ir::Schedule& schedule, const SegmentStart& start);

}  // namespace paci::exec
