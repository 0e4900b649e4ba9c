// MainWindow: the viewer's tabs (runs, timeline, compare, explorer, replay, curves), the File menu
// (open a store, export the current view) and the wiring between the run browser, the loader and
// the pages. Loads go through RunLoader off the UI thread with a progress bar; the *Now methods
// load in the calling thread for screenshots and tests. Errors are shown, never thrown.
#pragma once

#include <QMainWindow>
#include <map>
#include <memory>
#include <vector>

#include "gui/model/run_loader.h"
#include "gui/model/sim_backend.h"

class QProgressBar;
class QTabWidget;

namespace paci::gui {

class RunBrowser;
class TimelinePage;
class ComparePage;
class ExplorerPage;
class ReplayPage;
class CurvesPage;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  enum class View { kRuns, kTimeline, kCompare, kExplorer, kReplay, kCurves };

  explicit MainWindow(std::shared_ptr<const SimBackend> backend, QWidget* parent = nullptr);
  ~MainWindow() override;

  // interactive=false: errors go to stderr instead of a dialog (screenshot mode).
  void setInteractive(bool on) { interactive_ = on; }
  bool openStore(const QString& path);
  void setSource(std::unique_ptr<RunSource> source);
  void showView(View v);
  QWidget* currentView() const;
  bool exportCurrentView(const QString& path);

  void openRun(int64_t id);                            // asynchronous
  void compareRuns(int64_t a, int64_t b);              // asynchronous
  void showCurves(const std::vector<int64_t>& ids);    // asynchronous
  bool openRunNow(int64_t id);
  bool compareRunsNow(int64_t a, int64_t b);
  bool showCurvesNow(const std::vector<int64_t>& ids);

  RunBrowser* browser() const { return browser_; }
  TimelinePage* timelinePage() const { return timeline_; }
  ComparePage* comparePage() const { return compare_; }
  ExplorerPage* explorerPage() const { return explorer_; }
  ReplayPage* replayPage() const { return replay_; }
  CurvesPage* curvesPage() const { return curves_; }

 signals:
  void runShown();  // the timeline page got a run (tests and benchmarks wait on it)

 private:
  enum class Purpose { kOpen, kCompare, kCurves, kReplay };
  struct Pending {
    Purpose purpose;
    std::vector<int64_t> ids;
    std::map<int64_t, std::shared_ptr<LoadedRun>> runs;
  };
  void buildMenus();
  void refreshRuns();
  void request(Purpose purpose, std::vector<int64_t> ids);
  void onLoaded(int request, std::shared_ptr<LoadedRun> run);
  void onFailed(int request, const QString& message);
  void finish(const Pending& p);
  void showRun(std::shared_ptr<const LoadedRun> run);
  void showError(const QString& message);

  std::shared_ptr<const SimBackend> backend_;
  RunLoader loader_;
  bool interactive_ = true;
  QTabWidget* tabs_;
  RunBrowser* browser_;
  TimelinePage* timeline_;
  ComparePage* compare_;
  ExplorerPage* explorer_;
  ReplayPage* replay_;
  CurvesPage* curves_;
  QProgressBar* progress_;
  std::map<int, int> request_to_pending_;  // loader request -> pending job
  std::map<int, Pending> pending_;
  int next_pending_ = 0;
  int current_job_ = 0;  // the newest job of each purpose wins; older ones are dropped
  // The replay page is filled when first shown: its per-stage tables cost time on the UI thread
  // that opening a timeline should not pay.
  std::shared_ptr<const LoadedRun> replay_pending_;
};

}  // namespace paci::gui
