// RunSummary (one row of the run browser) and RunTrace (a loaded run: spec, ops, updates, memory).
// The viewer's own plain types, so the models do not depend on how a run was obtained: the trace
// store, an in-process simulation or a test's vector of TraceEvents.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gui/model/run_overview.h"
#include "gui/model/trace_index.h"
#include "paci.pb.h"
#include "proto/status.h"

namespace paci::gui {

enum class RunKind { kPredicted, kMeasured };

struct RunSummary {
  int64_t id = 0;
  RunKind kind = RunKind::kPredicted;
  std::string name;
  std::string schedule;       // CLI name, e.g. "paci", "1f1b-flush"
  uint32_t stages = 0;        // P
  uint32_t accum = 0;         // K
  uint32_t microbatches = 0;  // M
  uint32_t chunks = 0;        // V
  std::optional<double> lr;   // run configuration, when the store knows it
  std::optional<int64_t> seed;
  // Results a person scans the list for (store::RunHeadline: the store's one definition of each).
  std::optional<double> val_loss;
  std::optional<double> tokens_per_s;
  std::optional<double> microbatches_per_s;  // shown where tokens/s is unknown (typed costs)
  std::optional<double> makespan_ns;
  std::optional<double> makespan_error_pct;  // of the prediction linked to this run (either side)
  int64_t partner = 0;                       // the linked run that error compares with
  int64_t op_count = 0;
  bool replayed = false;  // ops re-simulated when loaded (store/README.md, "Growth")
  std::string state;      // "complete", "running", "incomplete", "failed"
  int64_t start_unix_ns = 0;
};

// Where a long run's ops come from one time window at a time (the store reads only the op-id
// ranges its summary gives for the window). Thread-safe: loads run one at a time.
class OpWindowSource {
 public:
  virtual ~OpWindowSource() = default;
  struct Window {
    std::vector<ir::TraceEvent> ops;
    bool truncated = false;  // more than max_ops met the window; ops is empty
  };
  // Ops with start < t1_ns and end > t0_ns, in the run's own clock.
  virtual Result<Window> Load(int64_t t0_ns, int64_t t1_ns, int64_t max_ops) = 0;
};

struct RunTrace {
  RunSummary summary;
  ir::PipelineSpec spec;
  std::optional<ir::CostModel> cost_model;
  std::vector<ir::TraceEvent> ops;          // empty when a long run was indexed while loading
  std::shared_ptr<const TraceIndex> index;  // set by sources that index while loading
  std::vector<ir::UpdateMetric> updates;
  std::vector<ir::MemorySample> memory;
  // A long run stored op by op, opened for its timeline (LoadDetail::kWindowed): `index` holds
  // only a time window (empty at first, the run's offset and makespan), `overview` its far-out
  // zoom levels, `windows` loads the ops of the window in view. Memory samples are not loaded.
  std::shared_ptr<const RunOverview> overview;
  std::shared_ptr<OpWindowSource> windows;
};

const char* RunKindName(RunKind kind);  // "predicted", "measured"

// Summary fields that follow from a spec (schedule name, P, K, M, V).
// `spec` as read (chunks normalized, sched/pipeline_spec.h).
void FillSummaryFromSpec(const ir::PipelineSpec& spec, RunSummary* summary);

}  // namespace paci::gui
