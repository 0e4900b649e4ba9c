// What a pipelined `paci train` reports as it goes and stores when it ends: each update's loss on
// stdout, forwarded to the store; per-stage peak memory, drift, weight versions, activation bytes
// and gradient staleness; the run's losses, time and throughput. Shared by the threads run
// (pipeline_train.cc) and the ranks' run (pipeline_train_mpi.cc). A null writer stores nothing.
#pragma once

#include <cstdint>
#include <string>

#include "exec/model/train.h"
#include "exec/runtime/pipeline_trainer.h"
#include "proto/trace_sink.h"
#include "store/trace_store.h"

namespace paci::cli {

// Prints each update's loss as it happens and forwards everything to the store (if any).
class PrintingSink : public TraceSink {
 public:
  PrintingSink(TraceSink* inner, bool print) : inner_(inner), print_(print) {}
  void OnOp(const ir::TraceEvent& e) override {
    if (inner_) inner_->OnOp(e);
  }
  void OnMemory(const ir::MemorySample& m) override {
    if (inner_) inner_->OnMemory(m);
  }
  void OnUpdate(const ir::UpdateMetric& m) override;
  Status Flush() override { return inner_ ? inner_->Flush() : Status::Ok(); }
  Status Failure() const override { return inner_ ? inner_->Failure() : Status::Ok(); }

 private:
  TraceSink* inner_;
  bool print_;
};

// Gradient staleness is a property of the schedule the executor plays op for op, so it comes
// from the schedule's weight-version analysis rather than a second count in the stage workers.
void StoreGradientStaleness(store::RunWriter* w, uint32_t stage, const ir::Schedule& schedule);

void StoreStageMetrics(store::RunWriter* w, uint32_t stage, const exec::StageReport& r);

// Stores the run's metrics and prints its one-line result.
void StoreRunMetrics(store::RunWriter* w, const exec::TrainConfig& cfg, const exec::PipelineResult& r);

}  // namespace paci::cli
