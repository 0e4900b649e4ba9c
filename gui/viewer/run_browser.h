// RunBrowser: the run list with its filters (kind, schedule, P, K) and the buttons that open the
// selected run's timeline, compare two runs, or plot the curves of the selection. A thin shell over
// RunListModel and RunFilterModel.
#pragma once

#include <QWidget>
#include <vector>

#include "gui/model/run_list_model.h"

class QComboBox;
class QSpinBox;
class QTableView;
class QLabel;

namespace paci::gui {

class RunBrowser : public QWidget {
  Q_OBJECT
 public:
  explicit RunBrowser(QWidget* parent = nullptr);

  void setRuns(std::vector<RunSummary> runs);
  RunListModel& model() { return model_; }
  std::vector<int64_t> selectedIds() const;
  void selectIds(const std::vector<int64_t>& ids);

 signals:
  void openRun(qint64 id);
  void compareRuns(qint64 a, qint64 b);
  void showCurves(const std::vector<int64_t>& ids);

 private:
  void applyFilter();

  RunListModel model_;
  RunFilterModel filter_;
  QComboBox* kind_;
  QComboBox* schedule_;
  QSpinBox* stages_;
  QSpinBox* accum_;
  QTableView* table_;
  QLabel* hint_;
};

}  // namespace paci::gui
