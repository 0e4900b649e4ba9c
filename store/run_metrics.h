// Run metrics and run comparison: per-stage busy time, bubble fraction, drift and peak memory of
// one run, and the side-by-side of two runs with per-op residuals. Shared by `paci compare`, the
// viewer and tests, so every tool reports the same numbers.
// Conventions (docs/method.md): the window is [first op start, last op end] (that is
// [0, makespan] for simulated runs); bubble = idle / (idle + busy) over that window (beta_total);
// busy = union of the stage's compute-lane ops; drift d(n,s) = v_b - v_f, with v_b from BACKWARD
// or BACKWARD_INPUT and v_f from FORWARD of the same micro-batch and chunk.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "paci.pb.h"
#include "proto/status.h"
#include "store/run_info.h"

namespace paci::store {

// One kind of compute op on a stage (F, B, I, W, OPT): how many ran and their median duration.
// The median, so that the first update's warm-up or an op that lost its CPU does not move it: it
// is what to set beside a profile's per-op times when a prediction misses.
struct KindTime {
  int64_t count = 0;
  int64_t median_ns = 0;
};

struct StageMetrics {
  uint32_t stage = 0;
  int64_t busy_ns = 0;
  int64_t idle_ns = 0;
  double bubble_fraction = 0;        // idle / (idle + busy)
  std::optional<int64_t> max_drift;  // absent when no F/B pair carries weight versions
  double mean_drift = 0;
  uint64_t peak_live_bytes = 0;  // over op ends and memory samples
  int64_t ops = 0;
  std::map<ir::OpKind, KindTime> kinds;  // compute ops by kind
};

struct RunMetrics {
  int64_t start_ns = 0;              // first op start
  int64_t makespan_ns = 0;           // last op end - first op start
  double bubble_fraction = 0;        // over all stages: sum idle / sum (idle + busy)
  std::vector<StageMetrics> stages;  // index = stage
};

RunMetrics ComputeRunMetrics(const std::vector<ir::TraceEvent>& ops,
                             const std::vector<ir::MemorySample>& memory);
inline RunMetrics ComputeRunMetrics(const RunData& run) { return ComputeRunMetrics(run.ops, run.memory); }

// One op played in both runs; residual = A - B, times relative to each run's own start.
struct OpResidual {
  uint64_t op_id = 0;
  int64_t start_residual_ns = 0;
  int64_t duration_residual_ns = 0;
};

struct ResidualSummary {
  int64_t count = 0;
  double mean_abs_start_ns = 0, max_abs_start_ns = 0, rms_start_ns = 0;
  double mean_abs_duration_ns = 0, max_abs_duration_ns = 0, rms_duration_ns = 0;
};

struct RunComparison {
  RunMetrics a, b;
  // Residuals exist only when both runs hold the same op ids with the same stage, kind, chunk
  // and micro-batch (both played the same IR); otherwise `why_no_residuals` says what differs.
  bool same_ops = false;
  std::string why_no_residuals;
  std::vector<OpResidual> residuals;  // by op id
  ResidualSummary summary;
  double makespan_error_pct = 0;  // (A - B) / B * 100: A is the prediction, B the measurement
};

RunComparison CompareRuns(const RunData& a, const RunData& b);

// (predicted - measured) / measured * 100: the one definition of a prediction's error, for any
// figure (makespan, tokens/s, time per update); +inf when only the measurement is 0, 0 when both are.
double PredictionErrorPct(double predicted, double measured);
// The makespan's (also RunComparison::makespan_error_pct).
inline double MakespanErrorPct(double predicted_ns, double measured_ns) {
  return PredictionErrorPct(predicted_ns, measured_ns);
}

// What a run list shows of each run without reading its ops (one metrics query, no replay):
// validation loss, tokens/s, makespan (the stored makespan_ns; for a run stored without it, the
// extent of its op rows) and, for a run linked to its prediction or measurement, that pair's
// MakespanErrorPct (the latest linked partner when there are several).
struct RunHeadline {
  std::optional<double> val_loss;
  std::optional<double> tokens_per_s;
  std::optional<double> microbatches_per_s;  // for runs without tokens per micro-batch
  std::optional<double> makespan_ns;
  std::optional<double> makespan_error_pct;
  int64_t partner = 0;  // the run the error compares with; 0: none
};
class TraceStore;
Result<std::map<int64_t, RunHeadline>> LoadRunHeadlines(TraceStore& store);

}  // namespace paci::store
