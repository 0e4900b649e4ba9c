// SimulationResult: what one simulated run predicts, computed on the fly while it plays (no trace
// needs to be kept): makespan, throughput, and per stage the compute-lane busy and idle time,
// bubble fraction, peak activations and memory, weight copies held, weight-version drift and
// gradient staleness.
// Times are int64 ns; fractions are idle / (idle + busy).
#pragma once

#include <cstdint>
#include <vector>

namespace paci::sim {

struct StageMetrics {
  uint32_t stage = 0;
  int64_t busy_ns = 0;              // sum of compute-op durations (F, B, I, W, OPT)
  int64_t idle_ns = 0;              // makespan - busy
  double bubble_fraction = 0;       // idle / makespan: the stage's span is [0, makespan]
  int64_t first_start_ns = 0;       // first compute op start
  int64_t last_end_ns = 0;          // last compute op end
  double span_bubble_fraction = 0;  // 1 - busy / (last_end - first_start): zero-bubble's span
  uint64_t compute_ops = 0;
  uint64_t optimizer_steps = 0;
  uint32_t peak_activations = 0;   // live forward outputs (one per micro-batch and chunk)
  uint32_t peak_weight_grads = 0;  // pending weight-gradients (split schedules)
  uint64_t peak_memory_bytes = 0;  // weights x versions + grads + optimizer + live activations
                                   // + transient_bytes
  uint64_t transient_bytes = 0;    // held while an op runs: a staleness compensation's estimate
  uint32_t weight_versions = 1;    // most weight copies held at once
  uint32_t max_drift = 0;          // max over backwards of v(B) - v(F)
  double mean_drift = 0;
  std::vector<uint64_t> drift_histogram;  // [d] = backwards with drift d
  // Most, over applied gradients, of (version the applying step updates) - v(F): 2BW 1, PipeDream
  // P-1-s, PACI and PipeMare their drift (sched/weight_version_analysis.h says why).
  uint32_t max_gradient_staleness = 0;
  double mean_gradient_staleness = 0;
  uint32_t extra_weight_buffers = 0;  // weight-sized buffers beyond the versions (PipeMare: 2)
  int64_t send_busy_ns = 0;           // time the send lane was occupied
};

struct SimulationResult {
  int64_t makespan_ns = 0;         // end of the last op on any lane; the run starts at 0
  uint64_t microbatches = 0;       // micro-batches the run pushes through the pipeline
  uint64_t optimizer_updates = 0;  // optimizer steps of stage 0 (every stage steps as often)
  uint64_t ops = 0;                // ops played, all kinds (the unit of "simulated ops/s")
  double throughput_microbatches_per_s = 0;
  double tokens_per_s = 0;        // 0 when the cost model has no tokens_per_microbatch
  double bubble_fraction = 0;     // all stages: sum idle / (P x makespan)
  uint32_t peak_activations = 0;  // max over stages
  std::vector<StageMetrics> stages;

  double makespan_ms() const { return static_cast<double>(makespan_ns) / 1e6; }
};

}  // namespace paci::sim
