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
  // Whether a store is open: with none (the first start) the page says how to open one and that
  // the Explorer needs none, in place of an empty table.
  void setStoreOpen(bool open);
  bool showsEmptyHint() const;
  QString emptyHintText() const;
  QTableView* table() const { return table_; }
  RunListModel& model() { return model_; }
  std::vector<int64_t> selectedIds() const;
  void selectIds(const std::vector<int64_t>& ids);

 signals:
  void openRun(qint64 id);
  void compareRuns(qint64 a, qint64 b);
  void showCurves(const std::vector<int64_t>& ids);

 private:
  void applyFilter();
  void showEmptyHint();
  // Gives Name the width its text needs (up to a cap) and the other columns theirs; a window too
  // narrow for all of them scrolls the numeric columns, never squeezes Name to "...".
  void fitColumns();

 protected:
  // The table's viewport resizing (the window, or the table shown after the empty hint) refits.
  bool eventFilter(QObject* watched, QEvent* e) override;

 private:

  RunListModel model_;
  RunFilterModel filter_;
  QComboBox* kind_;
  QComboBox* schedule_;
  QSpinBox* stages_;
  QSpinBox* accum_;
  QTableView* table_;
  QLabel* hint_;
  QLabel* empty_;
  bool store_open_ = false;
};

}  // namespace paci::gui
