// PipelineEval: the validation loss every N updates of a pipelined run (`--eval-every N`). Each
// stage hands over a copy of its weights right after its update u (u a multiple of N); once every
// slice of the model for u is in, the whole model is evaluated on those copies, so no live
// weights and no version the schedule prescribes are touched. The stage holding the loss hands
// over its UpdateMetric for u, which is passed on to the sink with the validation loss filled in.
// Thread-safe: the stages of one process call it from their threads. With one stage per rank,
// each rank keeps its own slices and the last rank completes the models after the run
// (pipeline_trainer.cc, GatherEval).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "exec/model/gpt.h"
#include "paci.pb.h"
#include "proto/trace_sink.h"

namespace paci::exec {

class PipelineEval {
 public:
  // `slices`: weight spans making up the model (P x V); `sink` may be null.
  PipelineEval(const GPTConfig& model, const std::vector<uint16_t>* val, int B, int batches, int64_t every,
               uint32_t slices, TraceSink* sink);

  bool Due(int64_t update) const { return every_ > 0 && update % every_ == 0; }
  void AddSlice(int64_t update, size_t offset, std::vector<float> weights);
  void AddMetric(const ir::UpdateMetric& metric);

  // Update metrics with their validation losses, by update (complete once every stage is done).
  std::vector<ir::UpdateMetric> Metrics() const;

  // With one stage per rank (MPI), a rank holds only its own slices: the updates it has slices of,
  // and the model-sized buffer for `update` with those slices filled in (the rest zero), to be
  // sent to the rank that evaluates.
  std::vector<int64_t> PendingUpdates() const;
  std::vector<float> PartialParams(int64_t update) const;

 private:
  struct Pending {
    std::vector<float> params;
    uint32_t slices = 0;
    std::optional<float> val;
    std::optional<ir::UpdateMetric> metric;
  };
  void EmitIfComplete(Pending& p);  // with mu_ held

  GPTConfig model_;
  const std::vector<uint16_t>* val_;
  int B_, batches_;
  int64_t every_;
  uint32_t slices_;
  TraceSink* sink_;
  mutable std::mutex mu_;
  std::map<int64_t, Pending> pending_;
  std::vector<ir::UpdateMetric> done_;
};

}  // namespace paci::exec
