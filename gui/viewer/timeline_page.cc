#include "gui/viewer/timeline_page.h"

#include <QElapsedTimer>
#include <QFutureWatcher>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QSignalBlocker>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>
#include <cmath>

#include "gui/model/area_stats.h"
#include "gui/model/number_format.h"
#include "gui/model/op_search.h"
#include "gui/model/op_style.h"
#include "gui/viewer/op_legend.h"
#include "gui/viewer/timeline_widget.h"

namespace paci::gui {

TimelinePage::TimelinePage(QWidget* parent) : QWidget(parent) {
  header_ = new QLabel;
  details_ = new QLabel;
  details_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  // Wrapped: one line of help or op details must not set the window's minimum width (a 1000x700
  // window has to fit).
  details_->setWordWrap(true);
  timeline_ = new TimelineWidget;
  legend_ = new OpLegend;
  auto* scroll = new QScrollArea;
  scroll->setWidget(timeline_);
  scroll->setWidgetResizable(true);
  scroll->setFrameShape(QFrame::NoFrame);
  window_status_ = new QLabel;
  window_status_->hide();
  search_ = new QLineEdit;
  search_->setPlaceholderText(
      tr("Search ops: mb 12 · B · stage 3 F 7 · send mb 4 · op 120  "
         "(Enter / n: next, N: previous)"));
  search_->setClearButtonEnabled(true);
  search_status_ = new QLabel;
  search_status_->setWordWrap(true);  // an error names the word and gives examples: wrap it
  search_status_->setMaximumWidth(420);
  zoom_back_ = new QPushButton(tr("Zoom back"));
  zoom_back_->setToolTip(tr("Back to the range shown before the last Shift+drag zoom (Z or Backspace)"));
  zoom_back_->setEnabled(false);
  auto* tools = new QHBoxLayout;
  tools->addWidget(search_, 1);
  tools->addWidget(search_status_);
  tools->addWidget(zoom_back_);
  area_stats_ = new QLabel;
  area_stats_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  area_stats_->setWordWrap(true);
  area_stats_->setFrameShape(QFrame::StyledPanel);
  area_stats_->setMargin(4);
  area_stats_->hide();
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(header_);
  layout->addWidget(window_status_);
  layout->addLayout(tools);
  layout->addWidget(legend_);
  layout->addWidget(scroll, 1);
  layout->addWidget(area_stats_);
  layout->addWidget(details_);
  connect(timeline_, &TimelineWidget::opSelected, this, [this](int, qint64 op) { showDetails(op); });
  connect(timeline_, &TimelineWidget::axisChanged, this, &TimelinePage::requestWindow);
  connect(search_, &QLineEdit::returnPressed, this, [this] {
    // Enter on the text already searched steps to the next match.
    if (search_->text() == searched_ && !matches_.empty()) {
      stepMatch(1);
    } else {
      search(search_->text());
    }
  });
  connect(search_, &QLineEdit::textChanged, this, [this](const QString& t) {
    if (t.trimmed().isEmpty()) search(QString());
  });
  connect(timeline_, &TimelineWidget::searchStep, this, &TimelinePage::stepMatch);
  connect(zoom_back_, &QPushButton::clicked, timeline_, [this] { timeline_->zoomBack(); });
  connect(timeline_, &TimelineWidget::zoomHistoryChanged, this,
          [this] { zoom_back_->setEnabled(timeline_->canZoomBack()); });
  connect(timeline_, &TimelineWidget::areaSelected, this, [this](const TimelineWidget::Area& a) {
    showAreaStats(a.track, a.first_stage, a.last_stage, a.t0, a.t1);
  });
  connect(timeline_, &TimelineWidget::areaCleared, area_stats_, &QLabel::hide);
  clear();
}

void TimelinePage::clear() {
  ++generation_;  // a window load of the old run still in flight is dropped when it lands
  loading_ = stale_ = false;
  windows_.reset();
  window_status_->hide();
  timeline_->setTracks({});  // the widget holds a raw pointer to the model: drop it first
  model_.reset();
  resetNavigation();
  legend_->setEntries({}, 1);
  header_->setText(tr("Open a run from the run browser."));
  details_->setText(
      tr("Wheel: zoom · drag: pan · Shift+drag: zoom to a range, Z: zoom back · "
         "Ctrl+drag: area statistics · W/S/A/D: zoom and pan · 0: fit · click: select "
         "an op · n / N: next / previous search match"));
  // Says where runs come from as well: on a first start there is no store and no run to click.
  timeline_->setEmptyText(
      tr("Double-click a run in the Runs tab to see its timeline "
         "(File > Open store… opens a store)."));
}

void TimelinePage::showLoading(const QString& what) {
  clear();
  header_->setText(tr("<b>Loading %1…</b>").arg(what.toHtmlEscaped()));
  timeline_->setEmptyText(tr("Loading %1… (the status bar shows how far)").arg(what));
}

QString TimelinePage::headerText() const { return header_->text(); }

QString TimelinePage::windowStatus() const { return window_status_->text(); }

void TimelinePage::requestWindow() {
  if (!model_ || !model_->overview() || !windows_) return;
  const TimeAxis& axis = timeline_->axis();
  const double t0 = axis.VisibleStart(), t1 = axis.VisibleEnd();
  if (model_->Covers(t0, t1)) return;
  const RunOverview& overview = *model_->overview();
  const int64_t in_view = overview.OpsIn(t0, t1);
  if (in_view > max_window_ops_) {
    window_status_->setText(tr("Summary: busy fraction per pixel column from the run's op tiles, "
                               "about %L1 ops in view. Zoom in to under %L2 ops to load "
                               "them (at most %L2 per window).")
                                .arg(in_view)
                                .arg(max_window_ops_));
    return;
  }
  if (loading_) {
    stale_ = true;
    return;
  }
  // A view's width on either side as well, when that stays under the cap: panning stays inside.
  const double w = t1 - t0;
  if (overview.OpsIn(t0 - w, t1 + w) <= max_window_ops_) {
    startWindowLoad(t0 - w, t1 + w);
  } else {
    startWindowLoad(t0, t1);
  }
}

namespace {
struct WindowResult {
  std::shared_ptr<const TraceIndex> index;
  bool truncated = false;
  QString error;
  double ms = 0;
};
}  // namespace

void TimelinePage::startWindowLoad(double t0, double t1) {
  loading_ = true;
  const int generation = generation_;
  window_status_->setText(tr("Loading the ops of the window in view…"));
  const TraceIndex& ix = model_->index();
  const int64_t offset = ix.offset_ns(), makespan = ix.makespan();
  const uint32_t stages = ix.stages();
  auto* watcher = new QFutureWatcher<WindowResult>(this);
  connect(watcher, &QFutureWatcher<WindowResult>::finished, this, [=, this] {
    watcher->deleteLater();
    if (generation != generation_) return;  // another run is shown now
    loading_ = false;
    const WindowResult r = watcher->result();
    if (!r.error.isEmpty()) {
      window_status_->setText(tr("Could not load the window: %1").arg(r.error));
    } else if (r.truncated) {
      window_status_->setText(
          tr("More than %L1 ops in the window: the summary is drawn.").arg(max_window_ops_));
    } else {
      // A window reaching past either end of the run covers all views beyond it too.
      model_->SetWindow(r.index, t0 <= 0 ? -1e300 : t0, t1 >= makespan ? 1e300 : t1);
      legend_->setRun(*r.index, model_->chunks(), true);  // a summary has no kinds; a window has
      rerunSearch();                                      // the old matches indexed the old window
      const double step = (t1 - t0) / 100;
      const QString from = QString::fromStdString(FormatTime(std::max(0.0, t0), step));
      const QString to = QString::fromStdString(FormatTime(std::min<double>(makespan, t1), step));
      window_status_->setText(tr("Ops loaded for %1 – %2: %L3 ops in %4 ms (at most %L5 per window; "
                                 "outside it the summary is drawn).")
                                  .arg(from, to)
                                  .arg(r.index->ops().size())
                                  .arg(r.ms, 0, 'f', 0)
                                  .arg(max_window_ops_));
      timeline_->update();
    }
    emit windowLoaded();
    if (stale_) {
      stale_ = false;
      requestWindow();
    }
  });
  auto windows = windows_;
  watcher->setFuture(QtConcurrent::run([=, max_ops = max_window_ops_] {
    QElapsedTimer clock;
    clock.start();
    WindowResult r;
    auto w = windows->Load(offset + static_cast<int64_t>(std::floor(t0)),
                           offset + static_cast<int64_t>(std::ceil(t1)) + 1, max_ops);
    if (!w.ok()) {
      r.error = QString::fromStdString(w.status().ToString());
      return r;
    }
    r.truncated = w->truncated;
    std::vector<OpSpan> spans;
    spans.reserve(w->ops.size());
    for (const auto& e : w->ops) spans.push_back(TraceIndex::SpanOf(e));
    r.index =
        std::make_shared<const TraceIndex>(TraceIndex::ForWindow(std::move(spans), stages, offset, makespan));
    r.ms = clock.nsecsElapsed() / 1e6;
    return r;
  }));
}

void TimelinePage::showDetails(int64_t op) {
  if (op < 0 || !model_) {
    details_->setText(tr("No op selected."));
    return;
  }
  const auto& e = model_->edges();
  details_->setText(model_->ToolTip(op).replace('\n', QStringLiteral("   ")) +
                    tr("   |  waits for %1 ops (orange), %2 ops wait for it (purple)")
                        .arg(e.before.size())
                        .arg(e.after.size()));
}

bool TimelinePage::selectOpId(uint64_t op_id) {
  if (!model_) return false;
  const int64_t i = model_->index().FindOpId(op_id);
  if (i < 0) return false;
  model_->Select(static_cast<size_t>(i));
  showDetails(i);
  timeline_->update();
  return true;
}

void TimelinePage::setRun(std::shared_ptr<const TraceIndex> index, uint32_t chunks, const QString& title,
                          std::shared_ptr<const RunOverview> overview,
                          std::shared_ptr<OpWindowSource> windows) {
  ++generation_;
  loading_ = stale_ = false;
  model_ = std::make_unique<TimelineModel>(std::move(index), chunks);
  windows_ = overview ? std::move(windows) : nullptr;
  if (windows_) model_->SetOverview(std::move(overview));
  window_status_->setVisible(windows_ != nullptr);
  const TraceIndex& ix = model_->index();
  const size_t ops =
      model_->overview() ? static_cast<size_t>(model_->overview()->op_count()) : ix.ops().size();
  legend_->setRun(ix, chunks, model_->overview() != nullptr);
  if (ops == 0) {
    // A run kept without its per-op trace (`paci runs merge --without-ops`) or that ran no op.
    header_->setText(tr("<b>%1</b> &nbsp; %2 stages; this run has no ops stored (its updates and metrics "
                        "are in the run list and Curves)")
                         .arg(title.toHtmlEscaped())
                         .arg(ix.stages()));
  } else {
    header_->setText(QStringLiteral("<b>%1</b> &nbsp; %2 stages, %3 ops, makespan %4")
                         .arg(title.toHtmlEscaped())
                         .arg(ix.stages())
                         .arg(FormatCount(static_cast<int64_t>(ops)))
                         .arg(QString::fromStdString(FormatTime(ix.makespan(), ix.makespan() / 1000.0))));
  }
  resetNavigation();
  timeline_->setTracks({{title, model_.get(), {}}});
}

void TimelinePage::resetNavigation() {
  // The box keeps no text of another run: it would read as a search with no match.
  {
    const QSignalBlocker quiet(search_);
    search_->clear();
  }
  searched_.clear();
  matches_.clear();
  current_.reset();
  search_status_->clear();
  area_stats_->hide();
  area_stats_->clear();
  timeline_->setHighlights({});
  timeline_->clearArea();
}

bool TimelinePage::search(const QString& text) {
  searched_ = text;
  matches_.clear();
  current_.reset();
  if (text.trimmed().isEmpty() || !model_) {
    search_status_->clear();
    timeline_->setHighlights({});
    return text.trimmed().isEmpty();
  }
  auto query = ParseOpQuery(text.toStdString());
  if (!query.ok()) {
    search_status_->setText(QString::fromStdString(query.status().message()));
    timeline_->setHighlights({});
    return false;
  }
  matches_ = FindOps(model_->index(), *query);
  if (matches_.empty()) {
    search_status_->setText(model_->overview() ? tr("no match in the loaded ops") : tr("no match"));
    timeline_->setHighlights({});
    return true;
  }
  current_ = FirstMatchFrom(model_->index(), matches_, timeline_->axis().VisibleStart());
  showMatch();
  return true;
}

void TimelinePage::rerunSearch() {
  if (searched_.trimmed().isEmpty() || !model_) return;
  auto query = ParseOpQuery(searched_.toStdString());
  if (!query.ok()) return;
  matches_ = FindOps(model_->index(), *query);
  current_.reset();
  timeline_->setHighlights(matches_);
  search_status_->setText(
      tr("%1 matches in the loaded ops").arg(FormatCount(static_cast<int64_t>(matches_.size()))));
}

void TimelinePage::stepMatch(int dir) {
  if (matches_.empty()) return;
  current_ = StepMatch(matches_.size(), current_, dir);
  showMatch();
}

void TimelinePage::showMatch() {
  const size_t op = matches_[*current_];
  model_->Select(op);
  showDetails(static_cast<int64_t>(op));
  timeline_->setHighlights(matches_, op);
  timeline_->centreOn(op);
  search_status_->setText(tr("%1 of %2%3")
                              .arg(FormatCount(static_cast<int64_t>(*current_ + 1)),
                                   FormatCount(static_cast<int64_t>(matches_.size())),
                                   model_->overview() ? tr(" in the loaded ops") : QString()));
}

std::optional<size_t> TimelinePage::currentMatch() const {
  if (!current_ || *current_ >= matches_.size()) return std::nullopt;
  return matches_[*current_];
}

QString TimelinePage::searchStatus() const { return search_status_->text(); }

QString TimelinePage::areaStatsText() const {
  return area_stats_->isHidden() ? QString() : area_stats_->text();
}

void TimelinePage::showAreaStats(int, uint32_t first, uint32_t last, double t0, double t1) {
  if (!model_) return;
  if (!model_->Covers(t0, t1)) {
    // The summary has busy time per tile, not op kinds: counting needs the ops themselves.
    area_stats_->setText(
        tr("The ops of this area are not loaded (the summary is drawn): zoom in "
           "until they load, then select the area again."));
  } else {
    area_stats_->setText(FormatAreaStats(ComputeAreaStats(model_->index(), first, last, t0, t1)));
  }
  area_stats_->show();
}

}  // namespace paci::gui
