// Simulator: plays a schedule (the IR, compact form) against a cost model and predicts its
// timeline. Each stage has a compute lane that plays its stream in order, a send lane and a
// receive lane; a RECV op makes the compute lane wait until the message has arrived, a SEND op
// hands the message to the send lane (FIFO, latency + bytes / bandwidth) and the compute lane
// moves on, so communication overlaps compute. Event-driven, int64 ns, ties broken by
// (time, sequence); memory does not grow with the length of the run. Not thread-safe per call;
// separate calls may run in parallel (sweeps do). Semantics: docs/method.md §2-7.
#pragma once

#include "paci.pb.h"
#include "proto/status.h"
#include "proto/trace_sink.h"
#include "sim/simulation_result.h"

namespace paci::sim {

struct SimulationOptions {
  // Receives every played op (compute lane at start; send and receive lanes too) and, with
  // memory_samples, a MemorySample whenever a stage's memory changes. Null: metrics only.
  TraceSink* sink = nullptr;
  bool memory_samples = true;
};

// Plays `schedule` (as GenerateSchedule makes it). Errors: a cost model that does not fit the
// schedule, a send without a receiver, a backward out of forward order, a deadlock (names the
// stage and the message it waits for).
//
// Weight version of an op = optimizer steps its stage completed before the op started, except:
// STASH (PipeDream) backwards use their forward's version; DOUBLE_BUFFER (PipeDream-2BW) ops of
// micro-batch n use version max(0, ceil(n / K) - 2), the 2BW paper's w^(t-2) for batch t.
// Drift of a backward = its version - its forward's version. Send and receive ops carry -1.
Result<SimulationResult> Simulate(const ir::Schedule& schedule, const ir::CostModel& cost,
                                  const SimulationOptions& options = {});

// Simulate into `sink` with memory samples, keeping only the status: the engine half of a trace
// store's ReplayFn (store/trace_store.h), which re-materialises a predicted run stored compactly.
Status Replay(const ir::Schedule& schedule, const ir::CostModel& cost, TraceSink& sink);

// GenerateSchedule(spec), then Simulate.
Result<SimulationResult> SimulateSpec(const ir::PipelineSpec& spec, const ir::CostModel& cost,
                                      const SimulationOptions& options = {});

}  // namespace paci::sim
