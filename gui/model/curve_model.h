// CurveModel: loss and validation loss of the selected runs against update index or wall time,
// as point lists ready for a chart, plus when each run first reached a target loss. Wall time is
// seconds since the run's first update record, so runs started at different times line up.
#pragma once

#include <QList>
#include <QPointF>
#include <QString>
#include <optional>
#include <vector>

#include "gui/model/run_trace.h"

namespace paci::gui {

enum class CurveAxis { kUpdate, kWallSeconds };

struct CurveSeries {
  int64_t run_id = 0;
  QString name;             // legend text
  QList<QPointF> loss;
  QList<QPointF> val_loss;  // updates where val_loss is NaN are skipped
  // A run evaluated only at its end (the executor without --eval-every: every update's val_loss
  // is NaN) still stores its validation loss: that value at the run's last loss point.
  std::optional<QPointF> final_val_loss;
};

class CurveModel {
 public:
  void clear() { runs_.clear(); }
  void addRun(const RunSummary& summary, std::vector<ir::UpdateMetric> updates);
  size_t runCount() const { return runs_.size(); }

  std::vector<CurveSeries> series(CurveAxis axis) const;
  // x (update index or seconds) at which the run's loss first reached <= target.
  std::optional<double> timeToTarget(size_t run, double target, CurveAxis axis) const;

 private:
  struct Run {
    RunSummary summary;
    std::vector<ir::UpdateMetric> updates;
  };
  static double X(const Run& r, const ir::UpdateMetric& m, CurveAxis axis);
  std::vector<Run> runs_;
};

}  // namespace paci::gui
