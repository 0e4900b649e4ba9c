// Weight-version analysis: which version of its stage's weights each forward and backward uses,
// how many optimizer updates a micro-batch crosses between them (drift), how many versions and
// in-flight activations each stage must hold. Follows the WeightPolicy rules of docs/method.md §2-4.
// Streams are walked with StageOpCursor, so memory is O(P * window) for runs of any length.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "paci.pb.h"
#include "proto/status.h"
#include "sched/weight_version_rule.h"

namespace paci {

// Version counter: the number of OPTIMIZER_STEP ops before an op in its stage's stream ("live").
//  SYNC_AFTER_FLUSH, LIVE_BOUNDED_DRIFT: F uses the live count at F, B/I the live count at B/I.
//  STASH (PipeDream): B/I use the version F stashed, so drift is 0.
//  DOUBLE_BUFFER (2BW): group t = ceil(n/K) runs F and B at version max(0, t-2) (docs/method.md §4.6);
//    the analysis fails if that version is not yet made at F or no longer held at B.
// The rule itself is sched/weight_version_rule.h.
// Gradient staleness is a second, different count: the optimizer step that applies a micro-batch's
// gradient updates the live version L of that step; the gradient was computed on weights as old as
// v_f (its forward's activations), so staleness = L - v_f. Flush schedules: 0. PipeDream: P-1-s
// (stashing hides it from drift). 2BW: 1 (drift 0). PACI and PipeMare: the drift, since their
// backward already uses the version the step updates (docs/method.md §5: "forward part only").

struct MicroBatchVersions {
  uint32_t stage = 0;
  uint32_t chunk = 0;
  uint64_t micro_batch = 0;
  int64_t forward_version = 0;   // v_f
  int64_t backward_version = 0;  // v_b (at B, or at I when the backward is split)
  int64_t drift = 0;             // v_b - v_f
};

struct StageVersionStats {
  uint32_t stage = 0;
  ir::WeightPolicy policy = ir::WEIGHT_POLICY_UNSPECIFIED;
  uint64_t backwards = 0;            // (chunk, micro-batch) pairs analysed
  uint64_t optimizer_steps = 0;
  int64_t max_drift = 0;
  double mean_drift = 0;
  std::vector<uint64_t> histogram;   // histogram[d] = backwards with drift d
  uint32_t weight_versions = 0;      // versions the stage must hold at once (incl. the live one)
  uint32_t peak_inflight = 0;        // (chunk, micro-batch) activations live at once: F done, B/I not
  uint32_t peak_pending_weight_grads = 0;  // I done, W not yet (split backward only)
  // Micro-batch records held at once per chunk: F done, B (or W when split) not yet. What the
  // executor keeps per micro-batch (activations, then the output-gradients W needs); its memory
  // plan (exec/runtime/memory_plan.h) sizes one pool per chunk from these.
  std::vector<uint32_t> peak_records_per_chunk;
  int64_t drift_bound = -1;          // LIVE_BOUNDED_DRIFT: ceil((window - 1) / K); else -1
  int64_t max_gradient_staleness = 0;   // most, over applied gradients, of L - v_f (see above)
  double mean_gradient_staleness = 0;
  uint64_t applied_gradients = 0;       // micro-batch gradients some optimizer step applied
};

struct WeightVersionReport {
  std::vector<StageVersionStats> stages;
};

// Called once per (stage, chunk, micro-batch) in stage order, then stream order of the backward.
using VersionVisitor = std::function<void(const MicroBatchVersions&)>;

// Expects a schedule that ValidateSchedule accepts; reports an op without its partner
// (B without F, F never followed by B) or an unrealizable double-buffer version as an error.
Result<WeightVersionReport> AnalyzeWeightVersions(const ir::Schedule& schedule,
                                                  const VersionVisitor& visit = nullptr);

}  // namespace paci
