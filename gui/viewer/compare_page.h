// ComparePage: two runs stacked on one time axis (prediction above, measurement below), the
// makespan error and a per-stage error table. Owns the ComparisonModel.
#pragma once

#include <QWidget>
#include <memory>

#include "gui/model/comparison_model.h"

class QLabel;
class QTableWidget;

namespace paci::gui {

class OpLegend;
class TimelineWidget;

class ComparePage : public QWidget {
  Q_OBJECT
 public:
  explicit ComparePage(QWidget* parent = nullptr);
  void setRuns(const RunTrace& a, const RunTrace& b);
  void clear();  // back to the hint: no comparison (another store was opened)
  void showLoading(const QString& what);  // while the runs load, instead of the hint
  QString headlineText() const;
  const ComparisonModel* model() const { return model_.get(); }
  TimelineWidget* timeline() const { return timeline_; }
  QTableWidget* table() const { return table_; }

 private:
  void fillTable();

  QLabel* headline_;
  OpLegend* legend_;
  TimelineWidget* timeline_;
  QTableWidget* table_;
  std::unique_ptr<ComparisonModel> model_;
};

}  // namespace paci::gui
