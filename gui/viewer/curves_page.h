// CurvesPage: loss (solid) and validation loss (dashed) of the selected runs against update or
// wall time (Qt Charts), with a target-loss line and each run's time to reach it.
#pragma once

#include <QWidget>

#include "gui/model/curve_model.h"

class QChart;
class QChartView;
class QComboBox;
class QDoubleSpinBox;
class QLabel;

namespace paci::gui {

class CurvesPage : public QWidget {
  Q_OBJECT
 public:
  explicit CurvesPage(QWidget* parent = nullptr);
  CurveModel& model() { return model_; }
  void refresh();  // after the model's runs changed
  void clear();    // no runs: the hint again (another store was opened)
  QString summaryText() const;
  QChart* chart() const;
  void setTarget(double loss);
  void setAxis(CurveAxis axis);

 private:
  CurveModel model_;
  QComboBox* axis_;
  QDoubleSpinBox* target_;
  QLabel* summary_;
  QChartView* view_;
};

}  // namespace paci::gui
