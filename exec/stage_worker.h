// StageWorker: plays one pipeline stage's op stream from the schedule IR, in order, on real
// weights: forwards and backwards of its layer slices (StageModel), sends and receives through a
// Transport, optimizer steps with the stage's own AdamW, and weight versions by the schedule's
// policy (StageWeights). Every op is timed and reported as a TraceEvent with the version it used.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "exec/data.h"
#include "exec/layer_partition.h"
#include "exec/train.h"
#include "exec/transport.h"
#include "paci.pb.h"
#include "proto/trace_sink.h"

namespace paci::exec {

// PipeMare's two corrections (docs/method.md §4.7, recalled from the paper): per-stage learning-rate rescheduling
// lr * tau^-p with p annealed from 1 to 0 over `lr_warmup` updates, and the backward run at
// w - d * delta, delta an EMA (factor `gamma`) of the stage's weight updates, d the drift.
struct PipeMareConfig {
  int64_t lr_warmup = 100;
  float gamma = 0.9f;
};

struct StageWorkerSetup {
  const ir::Schedule* schedule = nullptr;
  uint32_t stage = 0;
  TrainConfig train;                      // model, B, lr schedule, AdamW, seed, sampler
  std::vector<LayerRange> virtual_ranges; // per virtual stage v = chunk * P + stage
  float* params = nullptr;                // whole-model buffers; the worker touches its spans only
  float* grads = nullptr;
  const DataSplit* data = nullptr;
  Transport* transport = nullptr;
  TraceSink* sink = nullptr;              // may be null
  std::chrono::steady_clock::time_point origin;
  std::chrono::milliseconds recv_timeout{60000};
  PipeMareConfig pipemare;
};

struct StageReport {
  uint64_t ops = 0;
  uint64_t peak_bytes = 0;
  int64_t max_drift = 0;
  int weight_versions = 1;                // most versions held at once
  uint64_t activation_bytes = 0;          // what one micro-batch's forward keeps for its backward
  std::vector<ir::UpdateMetric> updates;  // filled by the stage that holds the loss
};

// Plays the whole stream. On failure (a timeout, an aborted peer) the Status names the stage and
// the op; the caller aborts the transport so the other stages stop too.
Status RunStageWorker(const StageWorkerSetup& setup, StageReport* report);

// Number of optimizer updates in the schedule (the LR schedule's length).
int64_t CountUpdates(const ir::Schedule& schedule);

}  // namespace paci::exec
