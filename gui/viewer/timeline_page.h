// TimelinePage: one run's timeline (lanes per stage) with a line of run facts above it, a search
// box for ops (OpQuery syntax, gui/model/op_search.h) with a Zoom back button beside it, the
// statistics of an area selection (gui/model/area_stats.h) and the selected op's details below.
// Owns the run's TimelineModel; the search and the statistics are the models', this page wires
// them to the widget.
#pragma once

#include <QWidget>
#include <memory>
#include <optional>
#include <vector>

#include "gui/model/run_loader.h"
#include "gui/model/timeline_model.h"

class QLabel;
class QLineEdit;
class QPushButton;

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
              std::shared_ptr<const RunOverview> overview = {}, std::shared_ptr<OpWindowSource> windows = {});
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

  // Search: matches of `text` in time order, highlighted, the view centred on the first one at
  // or after the view's start (and that op selected). False (and the reason in searchStatus())
  // when the text does not parse; an empty text ends the search.
  bool search(const QString& text);
  // Next (+1) or previous (-1) match, wrapping, centred and selected: Enter in the box, n / N.
  void stepMatch(int dir);
  QLineEdit* searchBox() const { return search_; }
  const std::vector<size_t>& matches() const { return matches_; }
  std::optional<size_t> currentMatch() const;  // op index of the current match
  QString searchStatus() const;
  // The area selection's statistics as shown under the timeline; empty when nothing is selected.
  QString areaStatsText() const;
  QPushButton* zoomBackButton() const { return zoom_back_; }
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
  void showMatch();    // centres, highlights and selects matches_[current_]
  void rerunSearch();  // the ops changed (a window loaded): same text, new indices
  void showAreaStats(int track, uint32_t first, uint32_t last, double t0, double t1);
  void resetNavigation();  // a new run or none: no search, no area

  QLabel* header_;
  QLabel* details_;
  OpLegend* legend_;
  TimelineWidget* timeline_;
  std::unique_ptr<TimelineModel> model_;
  QLabel* window_status_;
  QLineEdit* search_;
  QLabel* search_status_;
  QPushButton* zoom_back_;
  QLabel* area_stats_;
  QString searched_;               // the text matches_ are for
  std::vector<size_t> matches_;    // op indices, time order
  std::optional<size_t> current_;  // position in matches_
  std::shared_ptr<OpWindowSource> windows_;
  int64_t max_window_ops_ = kMaxWindowOps;
  bool loading_ = false;
  bool stale_ = false;  // the view moved while a load was in flight
  int generation_ = 0;  // a new run drops the old run's loads
};

}  // namespace paci::gui
