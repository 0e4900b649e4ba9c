// TimelinePage: one run's timeline (lanes per stage) with a line of run facts above it and the
// selected op's details below. Owns the run's TimelineModel.
#pragma once

#include <QWidget>
#include <memory>

#include "gui/model/run_loader.h"
#include "gui/model/timeline_model.h"

class QLabel;

namespace paci::gui {

class OpLegend;
class TimelineWidget;

class TimelinePage : public QWidget {
  Q_OBJECT
 public:
  explicit TimelinePage(QWidget* parent = nullptr);
  // title: what the header says (run id and name, or the explorer config). A long run loaded a
  // window at a time (RunTrace::overview and windows) is drawn from its overview until the ops
  // of the window in view are loaded, off the UI thread, after each zoom or pan.
  void setRun(std::shared_ptr<const TraceIndex> index, uint32_t chunks, const QString& title,
              std::shared_ptr<const RunOverview> overview = {},
              std::shared_ptr<OpWindowSource> windows = {});
  // Back to the empty page (no run, the hint): another store was opened, its runs are not ours.
  void clear();
  // While a run loads (off the UI thread): the page says which, instead of "Double-click a run".
  void showLoading(const QString& what);
  TimelineWidget* timeline() const { return timeline_; }
  OpLegend* legend() const { return legend_; }
  TimelineModel* model() const { return model_.get(); }
  QString headerText() const;
  // Selects the op with this id (as a click would) and centres the view on it; false if absent.
  bool selectOpId(uint64_t op_id);
  bool windowLoading() const { return loading_; }
  QString windowStatus() const;

  // The most ops one window load brings into memory; with more in view the overview is drawn.
  static constexpr int64_t kMaxWindowOps = 300000;
  void setMaxWindowOps(int64_t n) { max_window_ops_ = n; }  // tests lower it

 signals:
  void windowLoaded();  // a window load finished (loaded, over the cap, or failed)

 private:
  void showDetails(int64_t op);
  void requestWindow();  // after each axis change: load the view's ops if they are few enough
  void startWindowLoad(double t0, double t1);

  QLabel* header_;
  QLabel* details_;
  OpLegend* legend_;
  TimelineWidget* timeline_;
  std::unique_ptr<TimelineModel> model_;
  QLabel* window_status_;
  std::shared_ptr<OpWindowSource> windows_;
  int64_t max_window_ops_ = kMaxWindowOps;
  bool loading_ = false;
  bool stale_ = false;   // the view moved while a load was in flight
  int generation_ = 0;   // a new run drops the old run's loads
};

}  // namespace paci::gui
