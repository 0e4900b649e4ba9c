// TraceSink: the one-way channel through which the simulator and the executor report what they
// played (ops, optimizer updates, memory samples). The store implements it for SQLite; tests and
// tools may collect events in memory with VectorTraceSink. Engines never depend on the store.
// Thread rules: an engine calls a sink from one thread at a time unless the sink says otherwise.
#pragma once

#include <vector>

#include "paci.pb.h"
#include "proto/status.h"

namespace paci {

class TraceSink {
 public:
  virtual ~TraceSink() = default;
  virtual void OnOp(const ir::TraceEvent& event) = 0;
  virtual void OnUpdate(const ir::UpdateMetric& /*metric*/) {}
  virtual void OnMemory(const ir::MemorySample& /*sample*/) {}
  // Makes everything reported so far durable (for sinks that buffer).
  virtual Status Flush() { return Status::Ok(); }
  // The sink's first failure to keep what it was given (sticky); ok while it works. Engines check
  // it once per optimizer update and stop with it: training on into a sink that can no longer keep
  // the run (a store whose run was deleted under it) only wastes the machine (issue 25).
  virtual Status Failure() const { return Status::Ok(); }
};

// Keeps every event in memory, in the order reported.
class VectorTraceSink : public TraceSink {
 public:
  void OnOp(const ir::TraceEvent& e) override { ops.push_back(e); }
  void OnUpdate(const ir::UpdateMetric& m) override { updates.push_back(m); }
  void OnMemory(const ir::MemorySample& s) override { memory.push_back(s); }

  std::vector<ir::TraceEvent> ops;
  std::vector<ir::UpdateMetric> updates;
  std::vector<ir::MemorySample> memory;
};

}  // namespace paci
