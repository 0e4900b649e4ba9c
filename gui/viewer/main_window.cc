#include "gui/viewer/main_window.h"

#include <QApplication>
#include <QFileDialog>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressBar>
#include <QStatusBar>
#include <QTabWidget>
#include <cstdio>
#include <set>

#include "gui/viewer/compare_page.h"
#include "gui/viewer/curves_page.h"
#include "gui/viewer/explorer_page.h"
#include "gui/viewer/replay_page.h"
#include "gui/viewer/run_browser.h"
#include "gui/viewer/timeline_page.h"
#include "gui/viewer/timeline_widget.h"
#include "gui/viewer/view_export.h"

namespace paci::gui {
namespace {
QString RunTitle(const RunSummary& s) {
  return QStringLiteral("#%1 %2 (%3, %4)")
      .arg(s.id)
      .arg(QString::fromStdString(s.name.empty() ? s.schedule : s.name))
      .arg(QString::fromStdString(s.schedule))
      .arg(QLatin1String(RunKindName(s.kind)));
}
}  // namespace

MainWindow::MainWindow(std::shared_ptr<const SimBackend> backend, QWidget* parent)
    : QMainWindow(parent), backend_(std::move(backend)) {
  tabs_ = new QTabWidget;
  browser_ = new RunBrowser;
  timeline_ = new TimelinePage;
  compare_ = new ComparePage;
  explorer_ = new ExplorerPage(backend_);
  replay_ = new ReplayPage;
  curves_ = new CurvesPage;
  tabs_->addTab(browser_, tr("Runs"));
  tabs_->addTab(timeline_, tr("Timeline"));
  tabs_->addTab(compare_, tr("Side by side"));
  tabs_->addTab(explorer_, tr("Explorer"));
  tabs_->addTab(replay_, tr("Replay"));
  tabs_->addTab(curves_, tr("Curves"));
  setCentralWidget(tabs_);
  progress_ = new QProgressBar;
  progress_->setRange(0, 1000);
  progress_->setMaximumWidth(240);
  progress_->hide();
  statusBar()->addPermanentWidget(progress_);
  buildMenus();
  setWindowTitle(tr("PACI viewer"));
  resize(1500, 950);

  connect(browser_, &RunBrowser::openRun, this, [this](qint64 id) { openRun(id); });
  connect(browser_, &RunBrowser::compareRuns, this,
          [this](qint64 a, qint64 b) { compareRuns(a, b); });
  connect(browser_, &RunBrowser::showCurves, this,
          [this](const std::vector<int64_t>& ids) { showCurves(ids); });
  connect(tabs_, &QTabWidget::currentChanged, this, [this](int tab) {
    if (tab != static_cast<int>(View::kReplay) || !replay_pending_) return;
    const auto run = std::move(replay_pending_);
    if (run->trace.overview) {
      // Opened a window at a time for its timeline: replay needs every op, read in the background.
      request(Purpose::kReplay, {run->trace.summary.id});
      return;
    }
    replay_->setRun(run->index, run->trace.spec.chunks(), run->trace.memory, RunTitle(run->trace.summary));
  });
  connect(&loader_, &RunLoader::loaded, this, &MainWindow::onLoaded);
  connect(&loader_, &RunLoader::failed, this, &MainWindow::onFailed);
  connect(&loader_, &RunLoader::progress, this,
          [this](int, double f) { progress_->setValue(static_cast<int>(f * 1000)); });
}

MainWindow::~MainWindow() = default;

void MainWindow::buildMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  file->addAction(tr("&Open store…"), QKeySequence::Open, this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, tr("Open trace store"), {},
                                                      tr("Trace stores (*.db);;All files (*)"));
    if (!path.isEmpty()) openStore(path);
  });
  file->addAction(tr("&Export view…"), QKeySequence(tr("Ctrl+E")), this, [this] {
    const QString path = QFileDialog::getSaveFileName(this, tr("Export current view"), {},
                                                      tr("PNG (*.png);;SVG (*.svg)"));
    if (!path.isEmpty()) exportCurrentView(path);
  });
  file->addSeparator();
  file->addAction(tr("&Quit"), QKeySequence::Quit, qApp, &QApplication::quit);
}

void MainWindow::showError(const QString& message) {
  statusBar()->showMessage(message, 10000);
  if (interactive_) {
    QMessageBox::warning(this, tr("PACI viewer"), message);
  } else {
    std::fprintf(stderr, "paci-viewer: %s\n", qPrintable(message));
  }
}

bool MainWindow::openStore(const QString& path) {
  auto source = OpenStoreSource(path.toStdString());
  if (!source.ok()) {
    showError(tr("Cannot open %1: %2").arg(path, QString::fromStdString(source.status().ToString())));
    return false;
  }
  setSource(std::move(*source));
  return true;
}

void MainWindow::setSource(std::unique_ptr<RunSource> source) {
  // The pages show runs of the old store (ids mean other runs in the new one): back to their
  // hints, and loads still in flight from the old store are dropped when they land.
  pending_.clear();
  request_to_pending_.clear();
  current_job_ = ++next_pending_;
  replay_pending_.reset();
  progress_->hide();
  timeline_->clear();
  compare_->clear();
  replay_->clear();
  curves_->clear();
  loader_.setSource(std::move(source));
  browser_->setStoreOpen(true);
  setWindowTitle(tr("PACI viewer — %1").arg(loader_.sourceName()));
  refreshRuns();
}

void MainWindow::refreshRuns() {
  auto runs = loader_.listRuns();  // failures arrive through onFailed
  statusBar()->showMessage(tr("%1 runs").arg(runs.size()));
  browser_->setRuns(std::move(runs));
}

void MainWindow::showView(View v) { tabs_->setCurrentIndex(static_cast<int>(v)); }

QWidget* MainWindow::currentView() const { return tabs_->currentWidget(); }

bool MainWindow::exportCurrentView(const QString& path) {
  QString error;
  if (ExportWidget(currentView(), path, &error)) {
    statusBar()->showMessage(tr("Wrote %1").arg(path), 5000);
    return true;
  }
  showError(error);
  return false;
}

void MainWindow::request(Purpose purpose, std::vector<int64_t> ids) {
  const int job = ++next_pending_;
  pending_[job] = Pending{purpose, ids, {}};
  progress_->setValue(0);
  progress_->show();
  statusBar()->showMessage(tr("Loading…"));
  if (purpose == Purpose::kReplay) {  // beside the timeline's job, which stays the current one
    request_to_pending_[loader_.load(ids.front(), LoadDetail::kWhole)] = job;
    return;
  }
  current_job_ = job;
  // The tab being loaded says so at once (it said "Double-click a run..." for seconds on a big run).
  if (purpose == Purpose::kOpen) {
    timeline_->showLoading(tr("run #%1").arg(ids.front()));
    showView(View::kTimeline);
  } else if (purpose == Purpose::kCompare) {
    compare_->showLoading(tr("runs #%1 and #%2").arg(ids[0]).arg(ids[1]));
    showView(View::kCompare);
  }
  // Opening a timeline may load a long run a window at a time; comparison and replay need it whole.
  const LoadDetail detail = purpose == Purpose::kOpen ? LoadDetail::kWindowed : LoadDetail::kWhole;
  for (int64_t id : std::set<int64_t>(ids.begin(), ids.end()))
    request_to_pending_[loader_.load(id, detail)] = job;
}

void MainWindow::openRun(int64_t id) { request(Purpose::kOpen, {id}); }
void MainWindow::compareRuns(int64_t a, int64_t b) { request(Purpose::kCompare, {a, b}); }
void MainWindow::showCurves(const std::vector<int64_t>& ids) {
  if (!ids.empty()) request(Purpose::kCurves, ids);
}

void MainWindow::onLoaded(int req, std::shared_ptr<LoadedRun> run) {
  auto it = request_to_pending_.find(req);
  if (it == request_to_pending_.end()) return;
  const int job = it->second;
  request_to_pending_.erase(it);
  auto p = pending_.find(job);
  if (p == pending_.end()) return;
  p->second.runs[run->trace.summary.id] = std::move(run);
  // A run compared with itself is loaded once: count distinct ids, not requests.
  const std::set<int64_t> wanted(p->second.ids.begin(), p->second.ids.end());
  if (p->second.runs.size() < wanted.size()) return;
  Pending done = std::move(p->second);
  pending_.erase(p);
  progress_->hide();
  statusBar()->clearMessage();
  if (job == current_job_ || done.purpose == Purpose::kReplay) finish(done);
}

void MainWindow::onFailed(int req, const QString& message) {
  auto it = request_to_pending_.find(req);
  if (it != request_to_pending_.end()) {
    // A page left saying "Loading..." goes back to its hint.
    const auto p = pending_.find(it->second);
    if (p != pending_.end() && it->second == current_job_) {
      if (p->second.purpose == Purpose::kOpen) timeline_->clear();
      if (p->second.purpose == Purpose::kCompare) compare_->clear();
    }
    pending_.erase(it->second);
    request_to_pending_.erase(it);
    progress_->hide();
  } else if (req >= 0) {
    return;  // a load of a store no longer open (setSource dropped it): not this store's error
  }
  showError(message);
}

void MainWindow::finish(const Pending& p) {
  auto get = [&](int64_t id) { return p.runs.at(id); };
  switch (p.purpose) {
    case Purpose::kOpen:
      showRun(get(p.ids.front()));
      showView(View::kTimeline);
      break;
    case Purpose::kCompare: {
      auto a = get(p.ids[0]), b = get(p.ids[1]);
      if (PredictionShouldComeFirst(a->trace.summary, b->trace.summary)) std::swap(a, b);
      compare_->setRuns(a->trace, b->trace);
      showView(View::kCompare);
      break;
    }
    case Purpose::kReplay: {
      const auto run = get(p.ids.front());
      replay_->setRun(run->index, run->trace.spec.chunks(), run->trace.memory, RunTitle(run->trace.summary));
      break;
    }
    case Purpose::kCurves:
      curves_->model().clear();
      for (int64_t id : p.ids) {
        // The run list's summary carries the stored results (the final validation loss among
        // them, drawn when no update has one); a loaded run's is its record's alone.
        const RunSummary* listed = browser_->model().runById(id);
        curves_->model().addRun(listed ? *listed : get(id)->trace.summary, get(id)->trace.updates);
      }
      curves_->refresh();
      showView(View::kCurves);
      break;
  }
}

void MainWindow::showRun(std::shared_ptr<const LoadedRun> run) {
  const QString title = RunTitle(run->trace.summary);
  timeline_->setRun(run->index, run->trace.spec.chunks(), title, run->trace.overview,
                    run->trace.windows);
  replay_pending_ = std::move(run);
  emit runShown();
}

bool MainWindow::openRunNow(int64_t id) {
  QString error;
  auto run = loader_.loadNow(id, &error, LoadDetail::kWindowed);
  if (!run) {
    showError(error);
    return false;
  }
  finish(Pending{Purpose::kOpen, {id}, {{id, run}}});
  return true;
}

bool MainWindow::compareRunsNow(int64_t a, int64_t b) {
  QString error;
  auto ra = loader_.loadNow(a, &error);
  auto rb = ra ? loader_.loadNow(b, &error) : nullptr;
  if (!rb) {
    showError(error);
    return false;
  }
  finish(Pending{Purpose::kCompare, {a, b}, {{a, ra}, {b, rb}}});
  return true;
}

bool MainWindow::showCurvesNow(const std::vector<int64_t>& ids) {
  Pending p{Purpose::kCurves, ids, {}};
  for (int64_t id : ids) {
    QString error;
    auto run = loader_.loadNow(id, &error);
    if (!run) {
      showError(error);
      return false;
    }
    p.runs[id] = run;
  }
  finish(p);
  return true;
}

}  // namespace paci::gui
