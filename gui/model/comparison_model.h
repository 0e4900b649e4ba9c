// ComparisonModel: two runs of one IR (normally a prediction and the measured run it predicts)
// on one time axis, with per-op residuals, per-stage error and the makespan error in percent.
// The numbers come from store/run_metrics.h (CompareRuns), so the viewer and `paci compare` agree.
#pragma once

#include <QString>
#include <memory>
#include <unordered_map>
#include <vector>

#include "gui/model/run_trace.h"
#include "gui/model/timeline_model.h"
#include "store/run_metrics.h"

namespace paci::gui {

struct StageError {
  uint32_t stage = 0;
  int64_t busy_a_ns = 0, busy_b_ns = 0;
  double busy_error_pct = 0;         // (A - B) / B * 100
  double bubble_a = 0, bubble_b = 0;
  double mean_abs_duration_residual_ns = 0;
  int64_t ops = 0;
};

class ComparisonModel {
 public:
  // a: the prediction, b: the reference (measured). Either order works; the caller picks.
  ComparisonModel(const RunTrace& a, const RunTrace& b);

  const RunSummary& summaryA() const { return a_summary_; }
  const RunSummary& summaryB() const { return b_summary_; }
  TimelineModel& timelineA() { return *a_; }
  TimelineModel& timelineB() { return *b_; }
  int64_t extentNs() const;  // longer makespan: both runs share this axis

  const store::RunComparison& comparison() const { return cmp_; }
  double makespanErrorPct() const { return cmp_.makespan_error_pct; }
  const std::vector<StageError>& stageErrors() const { return stages_; }
  // Residual (A - B) of an op id, or nullptr when the runs do not share ops.
  const store::OpResidual* residual(uint64_t op_id) const;
  QString headline() const;  // "makespan A 12.3 ms, B 11.9 ms, error +3.4 %; 1234 ops matched"

 private:
  RunSummary a_summary_, b_summary_;
  std::unique_ptr<TimelineModel> a_, b_;
  store::RunComparison cmp_;
  std::vector<StageError> stages_;
  std::unordered_map<uint64_t, size_t> residual_by_id_;
};

// A prediction first: returns true when (x, y) should be swapped so the predicted run is A.
bool PredictionShouldComeFirst(const RunSummary& x, const RunSummary& y);

}  // namespace paci::gui
