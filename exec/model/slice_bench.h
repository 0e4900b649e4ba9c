// SliceBench: one slice [first, last) of the GPT with everything its ops need to run again and
// again outside a pipeline (weights, gradients, AdamW state, inputs, saved activations), for
// `paci profile`'s timings. Records beyond the first let the ops run with caches as cold as those
// of a stage that holds that many micro-batches in flight.
#pragma once

#include <cstdint>
#include <vector>

#include "exec/model/adamw.h"
#include "exec/model/gpt.h"
#include "exec/model/stage.h"
#include "proto/status.h"

namespace paci::exec {

struct SliceBench {
  StageModel model;
  std::vector<float> params, grads, acts, dout, out, dinp;
  std::vector<int> tokens, targets;
  std::vector<StageSaved> records;  // what a forward saved, per micro-batch "in flight"
  AdamW opt;
  int B = 0, T = 0;

  // Weights from the model's seeded initialisation, random inputs and output gradients, and
  // `records` records (>= 1), each filled by one forward so that any backward may read it.
  static Result<SliceBench> Create(const GPTConfig& cfg, int first, int last, int B, uint64_t seed,
                                   int records = 1);

  void Forward(int record = 0);
  void BackwardInput(int record = 0);
  void BackwardWeight(int record = 0);
  void Optimizer();
};

// Bytes one micro-batch's forward leaves in `saved` for its backward (capacities of the forward's
// buffers; the executor's SavedBytes, exec/runtime/cpu_backend.h, also counts what the backward
// adds to a record).
uint64_t ForwardSavedBytes(const StageSaved& saved);

}  // namespace paci::exec
