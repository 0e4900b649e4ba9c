// The viewer in daily use (issue 30), through the real widgets offscreen: opening another store
// leaves nothing of the old one on any page; a sweep grid made for other costs says it is out of
// date; a failed simulation clears the cards and timeline and says why in the controls' words;
// a 1000x700 window keeps the run list's Name readable and State in view and shows every explorer
// stage at P = 8; the timeline has a legend and tells interleaved chunks apart; numbers read as a
// person writes them; and a first start without a store says how to open one.
#include <QChart>
#include <QComboBox>
#include <QFile>
#include <QGroupBox>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QScatterSeries>
#include <QScrollArea>
#include <QSplitter>
#include <QTableView>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QThreadPool>
#include <QValueAxis>
#include <QtTest>
#include <map>
#include <set>

#include "gui/model/number_format.h"
#include "gui/model/op_style.h"
#include "gui/model/run_list_model.h"
#include "gui/viewer/compare_page.h"
#include "gui/viewer/curves_page.h"
#include "gui/viewer/explorer_page.h"
#include "gui/viewer/heatmap_widget.h"
#include "gui/viewer/main_window.h"
#include "gui/viewer/op_legend.h"
#include "gui/viewer/replay_page.h"
#include "gui/viewer/run_browser.h"
#include "gui/viewer/timeline_page.h"
#include "gui/viewer/timeline_widget.h"
#include "tests/gui/demo_runs.h"

using namespace paci;
using namespace paci::gui;

namespace {
// With PACI_SHOTS_DIR set, the widget as drawn is saved there as NAME.png (the pictures in
// docs/screenshots of what this test checks); without it, nothing is written.
void Shot(QWidget* w, const char* name) {
  const QString dir = qEnvironmentVariable("PACI_SHOTS_DIR");
  if (dir.isEmpty()) return;
  QCoreApplication::processEvents();
  w->grab().save(dir + QLatin1Char('/') + QLatin1String(name) + QStringLiteral(".png"));
}
}  // namespace

class DailyUseTest : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase();
  void anotherStoreClearsEveryPage();
  void aLoadOfTheOldStoreIsDropped();
  void staleSweepGridIsMarked();
  void failedSimulationClearsThePage();
  void smallWindowRunListKeepsNameAndState();
  void smallWindowExplorerShowsEveryStage();
  void legendAndInterleavedLabels();
  void numbersReadWell();
  void firstStartSaysHowToOpenAStore();
  void lastRulerLabelIsNotClipped();
  void compareOneRunWithItsPrediction();
  void theTabBeingLoadedSaysSo();
  void curvesShowValidationLossAndWholeUpdates();
  void replayTellsPastFromFuture();
  void explorerShowsTheSteadyState();
  void durationsAndThroughputReadAlike();

 private:
  // A window of its own, shown, not interactive (errors to stderr).
  std::unique_ptr<MainWindow> window(int w = 1400, int h = 900);
  QTemporaryDir dir_;
  QString db_a_, db_b_;
  guitest::DemoIds a_, b_;
};

void DailyUseTest::initTestCase() {
  db_a_ = dir_.filePath(QStringLiteral("a.db"));
  db_b_ = dir_.filePath(QStringLiteral("b.db"));
  auto a = guitest::WriteDemoStore(db_a_.toStdString());
  QVERIFY(a.ok());
  a_ = *a;
  auto b = guitest::WriteDemoStore(db_b_.toStdString());
  QVERIFY(b.ok());
  b_ = *b;
}

std::unique_ptr<MainWindow> DailyUseTest::window(int w, int h) {
  auto win = std::make_unique<MainWindow>(MakePaciSimBackend());
  win->setInteractive(false);
  win->resize(w, h);
  win->show();
  if (!QTest::qWaitForWindowExposed(win.get())) return nullptr;
  return win;
}

// Issue 30 item 1: File > Open store of another store, after a run was viewed, compared, replayed
// and plotted: every page is back to its hint (the same ids name other runs in the new store).
void DailyUseTest::anotherStoreClearsEveryPage() {
  auto w = window();
  QVERIFY(w);
  QVERIFY(w->openStore(db_a_));
  QVERIFY(w->openRunNow(a_.predicted));
  w->showView(MainWindow::View::kReplay);  // the replay page is filled when first shown
  QVERIFY(w->compareRunsNow(a_.measured, a_.predicted));
  QVERIFY(w->showCurvesNow({a_.predicted, a_.flush}));
  // All four pages show runs of store A.
  QVERIFY(w->timelinePage()->model() != nullptr);
  QVERIFY(w->timelinePage()->headerText().contains(QLatin1Char('#')));
  QVERIFY(w->comparePage()->model() != nullptr);
  QVERIFY(w->replayPage()->model().index() != nullptr);
  QCOMPARE(w->curvesPage()->model().runCount(), size_t{2});

  QVERIFY(w->openStore(db_b_));
  QCOMPARE(w->timelinePage()->model(), nullptr);
  QCOMPARE(w->timelinePage()->timeline()->trackCount(), 0);
  QVERIFY2(!w->timelinePage()->headerText().contains(QLatin1Char('#')),
           qPrintable(w->timelinePage()->headerText()));
  QCOMPARE(w->comparePage()->model(), nullptr);
  QCOMPARE(w->comparePage()->timeline()->trackCount(), 0);
  QVERIFY(w->comparePage()->table()->isHidden());
  QVERIFY(w->comparePage()->headlineText().contains(QStringLiteral("Compare two")));
  QCOMPARE(w->replayPage()->model().index(), nullptr);
  QVERIFY2(!w->replayPage()->titleText().contains(QLatin1Char('#')),
           qPrintable(w->replayPage()->titleText()));
  QCOMPARE(w->curvesPage()->model().runCount(), size_t{0});
  QVERIFY(w->curvesPage()->summaryText().contains(QStringLiteral("Curves")));
  w->showView(MainWindow::View::kTimeline);
  Shot(w.get(), "other-store-timeline");
  // Showing the Replay tab now finds nothing to fill from the old store either.
  w->showView(MainWindow::View::kTimeline);
  w->showView(MainWindow::View::kReplay);
  QCOMPARE(w->replayPage()->model().index(), nullptr);
  // The new store's runs open as usual.
  QVERIFY(w->openRunNow(b_.flush));
  QVERIFY(w->timelinePage()->headerText().contains(QStringLiteral("#%1").arg(b_.flush)));
}

// A run of the old store still loading when another store opens never lands on a page.
void DailyUseTest::aLoadOfTheOldStoreIsDropped() {
  auto w = window();
  QVERIFY(w);
  QVERIFY(w->openStore(db_a_));
  QSignalSpy shown(w.get(), &MainWindow::runShown);
  w->openRun(a_.predicted);      // asynchronous: its result arrives through the event loop...
  QVERIFY(w->openStore(db_b_));  // ...after this
  QVERIFY(QThreadPool::globalInstance()->waitForDone(30000));
  QTest::qWait(50);  // deliver the finished load
  QCOMPARE(shown.count(), 0);
  QCOMPARE(w->timelinePage()->timeline()->trackCount(), 0);
}

// Item 2: a K x P grid swept with typed times, then Costs = model on hardware: the grid says it
// is out of date (the cards are the new costs', the cells the old ones').
void DailyUseTest::staleSweepGridIsMarked() {
  ExplorerPage page(MakePaciSimBackend());
  page.resize(1400, 900);
  page.show();
  QTRY_VERIFY_WITH_TIMEOUT(page.model().outcome() && !page.model().busy(), 30000);
  QSignalSpy swept(&page.model(), &ExplorerModel::sweepReady);
  page.model().runSweep({1, 4}, {2, 4});
  QVERIFY(swept.wait(60000));
  HeatmapWidget* heatmap = page.heatmap();
  QVERIFY(!heatmap->stale());
  QVERIFY(!page.model().sweepStale());
  // Another K and P is a cell of the same grid: not stale.
  page.setConfig(page.model().cellConfig(0, 0));
  QVERIFY(!heatmap->stale());

  page.costsControl()->setCurrentIndex(static_cast<int>(ExplorerPage::Costs::kHardware));
  QVERIFY(page.model().sweepStale());
  QVERIFY(heatmap->stale());
  QVERIFY2(heatmap->titleText().contains(QStringLiteral("Out of date")) &&
               heatmap->titleText().contains(QStringLiteral("costs")),
           qPrintable(heatmap->titleText()));
  QTRY_VERIFY_WITH_TIMEOUT(!page.model().busy(), 30000);
  Shot(&page, "explorer-stale-sweep");
  // A new sweep under these costs is current again.
  swept.clear();
  page.startSweep();
  QVERIFY(swept.wait(60000));
  QVERIFY(!heatmap->stale());
  QVERIFY(heatmap->titleText().startsWith(QStringLiteral("K x P sweep")));
  // Back to typed times: that grid is the hardware's, so stale again, and says the costs.
  page.costsControl()->setCurrentIndex(static_cast<int>(ExplorerPage::Costs::kTyped));
  QVERIFY(heatmap->stale());
}

// Item 3: Costs = "measured profile" with no file: the old cards and timeline go, and a banner
// across the page says what to do, in the page's words (no "--profile").
void DailyUseTest::failedSimulationClearsThePage() {
  ExplorerPage page(MakePaciSimBackend());
  page.resize(1400, 900);
  page.show();
  QTRY_VERIFY_WITH_TIMEOUT(page.model().outcome() && !page.model().busy(), 30000);
  QCOMPARE(page.timeline()->trackCount(), 1);
  QVERIFY(page.errorBanner()->isHidden());
  QSignalSpy failed(&page.model(), &ExplorerModel::failed);
  page.costsControl()->setCurrentIndex(static_cast<int>(ExplorerPage::Costs::kProfile));
  QVERIFY(failed.wait(30000));
  QVERIFY(page.errorBanner()->isVisible());
  const QString text = page.errorBanner()->text();
  QVERIFY2(text.contains(QStringLiteral("profile")) && !text.contains(QStringLiteral("--")),
           qPrintable(text));
  QVERIFY(page.errorBanner()->width() > page.width() / 2);  // across the page, not a corner note
  QCOMPARE(page.timeline()->trackCount(), 0);
  QVERIFY(page.timeline()->emptyText().contains(QStringLiteral("could not be simulated")));
  for (QGroupBox* card : page.findChildren<QGroupBox*>()) {
    if (card->title() == QStringLiteral("Configuration")) continue;
    for (QLabel* value : card->findChildren<QLabel*>()) {
      // A value reads "–"; the note under a steady-state card is cleared.
      QVERIFY2(value->text() == QStringLiteral("–") || value->text().isEmpty(), qPrintable(value->text()));
    }
  }
  QVERIFY(!page.stageCostsLabel()->isVisible());
  Shot(&page, "explorer-failed-profile");
  // Typed times again: the banner goes, the cards and timeline come back.
  QSignalSpy ready(&page.model(), &ExplorerModel::outcomeReady);
  page.costsControl()->setCurrentIndex(static_cast<int>(ExplorerPage::Costs::kTyped));
  QVERIFY(ready.wait(30000));
  QVERIFY(page.errorBanner()->isHidden());
  QCOMPARE(page.timeline()->trackCount(), 1);
}

// Item 4: at 1000x700 the run list shows each run's name whole (or at least 260 px of it) and
// the State column without scrolling.
void DailyUseTest::smallWindowRunListKeepsNameAndState() {
  const QString db = dir_.filePath(QStringLiteral("baselines.db"));
  QVERIFY(QFile::copy(QStringLiteral(PACI_TRACES_DIR "/flush-baselines-p2.db"), db));
  QVERIFY(QFile::setPermissions(db, QFile::ReadOwner | QFile::WriteOwner));
  auto w = window(1000, 700);
  QVERIFY(w);
  QCOMPARE(w->size(), QSize(1000, 700));
  QVERIFY(w->openStore(db));
  w->showView(MainWindow::View::kRuns);
  QCoreApplication::processEvents();
  QTableView* table = w->browser()->table();
  QHeaderView* header = table->horizontalHeader();
  QVERIFY(table->model()->rowCount() > 0);
  const QFontMetrics fm(table->font());
  int longest = 0;
  for (int r = 0; r < table->model()->rowCount(); ++r) {
    longest = std::max(longest,
                       fm.horizontalAdvance(table->model()->index(r, RunListModel::kName).data().toString()));
  }
  const int name = header->sectionSize(RunListModel::kName);
  QVERIFY2(name >= std::min(longest + 8, 260),
           qPrintable(QStringLiteral("Name %1 px for text of %2 px").arg(name).arg(longest)));
  const int state_right =
      header->sectionViewportPosition(RunListModel::kState) + header->sectionSize(RunListModel::kState);
  QVERIFY2(
      header->sectionViewportPosition(RunListModel::kState) >= 0 && state_right <= table->viewport()->width(),
      qPrintable(
          QStringLiteral("State ends at %1 of %2 px").arg(state_right).arg(table->viewport()->width())));
  Shot(w.get(), "runs-1000x700");
  // A wide window: the columns fill the view, Name taking the room (it stretched before).
  w->resize(1600, 1000);
  QTRY_COMPARE_WITH_TIMEOUT(w->size(), QSize(1600, 1000), 5000);
  QCoreApplication::processEvents();
  QVERIFY2(header->length() >= table->viewport()->width() - 1,
           qPrintable(QStringLiteral("columns %1 px in a %2 px view")
                          .arg(header->length())
                          .arg(table->viewport()->width())));
  QVERIFY(header->sectionSize(RunListModel::kName) > name);
}

// Item 4: at 1000x700 the explorer at P = 8 shows all eight stage rows without scrolling; the
// empty heatmap is one line of hint, not ~40 % of the height.
void DailyUseTest::smallWindowExplorerShowsEveryStage() {
  auto w = window(1000, 700);
  QVERIFY(w);
  w->showView(MainWindow::View::kExplorer);
  ExplorerPage* page = w->explorerPage();
  ExplorerConfig c = page->model().config();
  c.stages = 8;
  c.accum = 8;
  page->setConfig(c);
  QTRY_VERIFY_WITH_TIMEOUT(
      page->model().outcome() && !page->model().busy() && page->model().outcome()->spec.stages() == 8u,
      60000);
  QCoreApplication::processEvents();
  QCOMPARE(w->size(), QSize(1000, 700));
  const int rows = page->timeline()->sizeHint().height();
  const int viewport = page->timelineScroll()->viewport()->height();
  QVERIFY2(rows <= viewport,
           qPrintable(QStringLiteral("8 stage rows need %1 px, the pane shows %2").arg(rows).arg(viewport)));
  QVERIFY2(page->heatmap()->height() < 0.1 * w->height(),
           qPrintable(
               QStringLiteral("empty heatmap %1 px of %2").arg(page->heatmap()->height()).arg(w->height())));
  // The legend wraps rather than clips at this width.
  OpLegend* legend = page->legend();
  QVERIFY(legend->isVisible());
  QVERIFY2(legend->height() >= legend->heightForWidth(legend->width()),
           qPrintable(QStringLiteral("legend %1 px high, needs %2")
                          .arg(legend->height())
                          .arg(legend->heightForWidth(legend->width()))));
  Shot(w.get(), "explorer-p8-1000x700");
}

// Item 5: a legend of the op kinds the run has; interleaved chunks labelled apart (F3a, F3b).
void DailyUseTest::legendAndInterleavedLabels() {
  OpSpan f;
  f.kind = ir::FORWARD;
  f.micro_batch = 95;
  f.version = 2;
  QCOMPARE(OpLabel(f, false), QStringLiteral("F95"));
  QCOMPARE(OpLabel(f, true, 2), QStringLiteral("F95a v2"));
  f.chunk = 1;
  QCOMPARE(OpLabel(f, false, 2), QStringLiteral("F95b"));

  auto w = window();
  QVERIFY(w);
  QVERIFY(w->openStore(db_a_));
  const int64_t interleaved = a_.all[5];  // demo_runs.cc: "interleaved P=4 V=2 M=8"
  QVERIFY(w->openRunNow(interleaved));
  TimelineModel* m = w->timelinePage()->model();
  QVERIFY(m);
  QCOMPARE(m->chunks(), 2u);
  // No two compute ops of one stage carry the same label (each micro-batch runs once per chunk).
  std::map<uint32_t, std::set<QString>> labels;
  size_t compute = 0;
  for (const OpSpan& op : m->index().ops()) {
    if (op.lane != ir::LANE_COMPUTE || op.kind == ir::OPTIMIZER_STEP) continue;
    ++compute;
    QVERIFY2(
        labels[op.stage].insert(OpLabel(op, false, m->chunks())).second,
        qPrintable(QStringLiteral("stage %1: %2 twice").arg(op.stage).arg(OpLabel(op, false, m->chunks()))));
  }
  QVERIFY(compute > 0);
  const QStringList legend = w->timelinePage()->legend()->texts();
  QVERIFY(w->timelinePage()->legend()->isVisible());
  QVERIFY2(legend.contains(QStringLiteral("F  forward")) && legend.contains(QStringLiteral("B  backward")),
           qPrintable(legend.join(QStringLiteral(" | "))));
  QVERIFY(legend.join(QLatin1Char(' ')).contains(QStringLiteral("F3a, F3b")));
  TimelineWidget* tl = w->timelinePage()->timeline();
  tl->showRange(0, m->index().makespan() * 0.3);  // zoomed in far enough for labels
  Shot(w.get(), "timeline-interleaved-legend");
  // A V = 1 run: no chunk note; the legend swatches are the timeline's colours.
  QVERIFY(w->openRunNow(a_.predicted));
  QVERIFY(!w->timelinePage()->legend()->texts().join(QLatin1Char(' ')).contains(QStringLiteral("F3a")));
  const auto entries = LegendFor(w->timelinePage()->model()->index());
  QVERIFY(!entries.empty());
  QCOMPARE(entries.front().color, OpKindColor(ir::FORWARD));
  QVERIFY(
      !w->timelinePage()->legend()->texts().join(QLatin1Char(' ')).contains(QStringLiteral("busy fraction")));
  // A stage with more ops than a screen has pixel columns is drawn zoomed out as busy fraction
  // in one slate colour: the legend names that colour too.
  std::vector<OpSpan> spans(4001);
  for (size_t i = 0; i < spans.size(); ++i) {
    spans[i].start = static_cast<int64_t>(10 * i);
    spans[i].end = spans[i].start + 5;
    spans[i].op_id = i;
    spans[i].kind = ir::FORWARD;
  }
  OpLegend dense;
  dense.setRun(TraceIndex::FromSpans(std::move(spans), 1), 1);
  QVERIFY2(dense.texts().join(QLatin1Char(' ')).contains(QStringLiteral("busy fraction")),
           qPrintable(dense.texts().join(QStringLiteral(" | "))));
}

// Item 9 of the issue (cosmetics): no "-0.00", thousands separators, no "0.0" mean residual when
// no op matched.
void DailyUseTest::numbersReadWell() {
  QCOMPARE(FormatPercent(-0.001, 2), QStringLiteral("0.00"));
  QCOMPARE(FormatSignedPercent(-0.001, 2), QStringLiteral("0.00"));
  QCOMPARE(FormatSignedPercent(3.416, 2), QStringLiteral("+3.42"));
  QCOMPARE(FormatSignedPercent(-1.1, 2), QStringLiteral("-1.10"));
  QCOMPARE(FormatCount(9000000), QStringLiteral("9,000,000"));
  QCOMPARE(FormatFixed(334204.4, 0), QStringLiteral("334,204"));
  QCOMPARE(FormatFixed(-0.04, 1), QStringLiteral("0.0"));

  auto w = window();
  QVERIFY(w);
  QVERIFY(w->openStore(db_a_));
  // A run with itself: every busy error is exactly zero, written 0.00 (not -0.00 or +0.00).
  QVERIFY(w->compareRunsNow(a_.predicted, a_.predicted));
  QTableWidget* table = w->comparePage()->table();
  QVERIFY(table->rowCount() > 0);
  for (int r = 0; r < table->rowCount(); ++r) QCOMPARE(table->item(r, 3)->text(), QStringLiteral("0.00"));
  // Two schedules share no ops: the residual column says so rather than "0.0".
  QVERIFY(w->compareRunsNow(a_.predicted, a_.flush));
  table = w->comparePage()->table();
  int unmatched = 0;
  for (int r = 0; r < table->rowCount(); ++r) {
    if (table->item(r, 7)->text() == QStringLiteral("0")) {
      QCOMPARE(table->item(r, 6)->text(), QStringLiteral("no matched ops"));
      ++unmatched;
    }
  }
  QVERIFY2(unmatched > 0, "PACI against 1F1B-flush matched ops on every stage");
  // The timeline header groups its op count: a recorded training run (thousands of ops).
  const QString db = dir_.filePath(QStringLiteral("recorded.db"));
  QVERIFY(QFile::copy(QStringLiteral(PACI_TRACES_DIR "/paci-vs-flush-p2.db"), db));
  QVERIFY(QFile::setPermissions(db, QFile::ReadOwner | QFile::WriteOwner));
  QVERIFY(w->openStore(db));
  QVERIFY(w->openRunNow(1));
  const size_t ops = w->timelinePage()->model()->index().ops().size();
  QVERIFY2(ops >= 1000, qPrintable(QString::number(ops)));
  QVERIFY2(w->timelinePage()->headerText().contains(FormatCount(static_cast<int64_t>(ops)) +
                                                    QStringLiteral(" ops")),
           qPrintable(w->timelinePage()->headerText()));
}

// Item 10 of the issue: the first start, no store: the Runs tab says File > Open store and that
// the Explorer works without one; the Timeline's hint names File > Open store too.
void DailyUseTest::firstStartSaysHowToOpenAStore() {
  auto w = window();
  QVERIFY(w);
  QVERIFY(w->browser()->showsEmptyHint());
  const QString hint = w->browser()->emptyHintText();
  QVERIFY2(hint.contains(QStringLiteral("File &gt; Open store")) && hint.contains(QStringLiteral("Explorer")),
           qPrintable(hint));
  QVERIFY(w->timelinePage()->timeline()->emptyText().contains(QStringLiteral("File > Open store")));
  Shot(w.get(), "first-start-no-store");
  QVERIFY(w->openStore(db_a_));
  QVERIFY(!w->browser()->showsEmptyHint());
  QVERIFY(w->browser()->table()->isVisible());
}

// Item 9: the ruler's last label ran past the right edge, cut off ("5" of "5.0 s"). A label that
// does not fit is left out; every drawn one fits. Ranges are tried until a tick sits close enough
// to the right edge for its label to overflow.
void DailyUseTest::lastRulerLabelIsNotClipped() {
  auto w = window();
  QVERIFY(w);
  QVERIFY(w->openStore(db_a_));
  QVERIFY(w->openRunNow(a_.predicted));
  TimelineWidget* tl = w->timelinePage()->timeline();
  QCoreApplication::processEvents();
  const QFontMetricsF fm(tl->font());
  int overflowing = 0;
  for (int ms = 5; ms <= 120; ++ms) {
    tl->showRange(0, ms * 1e6);
    const auto labels = tl->rulerLabels();
    for (const auto& [x, text] : labels) {
      QVERIFY2(x + fm.horizontalAdvance(text) <= tl->width(), qPrintable(text));
    }
    overflowing += static_cast<int>(tl->rulerTicks().size() - labels.size());
  }
  QVERIFY2(overflowing > 0, "no range put a tick's label past the right edge: the check checked nothing");
}

// Item 10: "Compare two" with only a measured run selected compares it with its linked
// prediction (the pair its error column names); a run with none says so.
void DailyUseTest::compareOneRunWithItsPrediction() {
  auto w = window();
  QVERIFY(w);
  QVERIFY(w->openStore(db_a_));
  auto* compare = w->browser()->findChild<QPushButton*>(QStringLiteral("compare"));
  QVERIFY(compare);
  w->browser()->selectIds({a_.measured});
  compare->click();
  QTRY_VERIFY_WITH_TIMEOUT(w->comparePage()->model() != nullptr, 30000);
  QCOMPARE(w->comparePage()->model()->summaryA().id, a_.predicted);  // the prediction on top
  QCOMPARE(w->comparePage()->model()->summaryB().id, a_.measured);
  // No linked run: nothing is compared, the hint says why.
  w->browser()->selectIds({a_.flush});
  QSignalSpy asked(w->browser(), &RunBrowser::compareRuns);
  compare->click();
  QCOMPARE(asked.count(), 0);
  bool said = false;
  for (QLabel* l : w->browser()->findChildren<QLabel*>())
    said |= l->text().contains(QStringLiteral("no linked prediction"));
  QVERIFY(said);
}

// Issue 30 item 7: while a run loads, the Timeline tab is in front and says which run is
// loading (it said "Double-click a run..." until the run arrived); a failed load leaves the hint.
void DailyUseTest::theTabBeingLoadedSaysSo() {
  auto w = window();
  QVERIFY(w);
  QVERIFY(w->openStore(db_a_));
  QSignalSpy shown(w.get(), &MainWindow::runShown);
  w->openRun(a_.flush);  // asynchronous
  QCOMPARE(w->currentView(), static_cast<QWidget*>(w->timelinePage()));
  QVERIFY2(w->timelinePage()->headerText().contains(QStringLiteral("Loading run #%1").arg(a_.flush)),
           qPrintable(w->timelinePage()->headerText()));
  QVERIFY(w->timelinePage()->timeline()->emptyText().startsWith(QStringLiteral("Loading")));
  QVERIFY(shown.wait(30000));
  QVERIFY(w->timelinePage()->headerText().contains(QStringLiteral("#%1").arg(a_.flush)));
  QVERIFY(!w->timelinePage()->headerText().contains(QStringLiteral("Loading")));
  // Side by side too.
  w->compareRuns(a_.measured, a_.predicted);
  QCOMPARE(w->currentView(), static_cast<QWidget*>(w->comparePage()));
  QVERIFY(w->comparePage()->headlineText().contains(QStringLiteral("Loading runs")));
  QTRY_VERIFY_WITH_TIMEOUT(w->comparePage()->model() != nullptr, 30000);
  // A run that is not there: the page does not keep saying "Loading".
  w->openRun(999999);
  QTRY_VERIFY_WITH_TIMEOUT(!w->timelinePage()->headerText().contains(QStringLiteral("Loading")), 30000);
}

// Issue 30 item 8: the recorded runs store their validation loss only at the end (every
// update's is NULL): it is drawn as a marker where each run ended, the update axis ticks at
// whole updates, a target is reached at "update 55" (not "55.00"), and identical curves are
// said to be drawn over each other.
void DailyUseTest::curvesShowValidationLossAndWholeUpdates() {
  const QString db = dir_.filePath(QStringLiteral("recorded-curves.db"));
  QVERIFY(QFile::copy(QStringLiteral(PACI_TRACES_DIR "/paci-vs-flush-p2.db"), db));
  QVERIFY(QFile::setPermissions(db, QFile::ReadOwner | QFile::WriteOwner));
  auto w = window(1600, 1000);
  QVERIFY(w);
  QVERIFY(w->openStore(db));
  QVERIFY(w->showCurvesNow({1, 3}));  // PACI and 1F1B-flush, trained by the executor
  CurvesPage* page = w->curvesPage();
  QChart* chart = page->chart();
  QVERIFY(chart->title().contains(QStringLiteral("validation loss")));
  std::map<QString, QPointF> finals;
  for (QAbstractSeries* s : chart->series()) {
    if (auto* scatter = qobject_cast<QScatterSeries*>(s);
        scatter && s->name().endsWith(QStringLiteral("val (final)"))) {
      QCOMPARE(scatter->count(), 1);
      finals[s->name()] = scatter->at(0);
    }
  }
  QCOMPARE(finals.size(), size_t{2});
  // Run 1's stored val_loss (the run list shows 3.1342) at its last update.
  const QPointF run1 = finals.begin()->second;
  QVERIFY2(std::abs(run1.y() - 3.1342) < 1e-3, qPrintable(QString::number(run1.y())));
  QVERIFY(run1.x() >= 90);
  auto* x = qobject_cast<QValueAxis*>(chart->axes(Qt::Horizontal).value(0));
  QVERIFY(x);
  QCOMPARE(x->tickType(), QValueAxis::TicksDynamic);
  QVERIFY2(x->tickInterval() >= 1 && x->tickInterval() == std::floor(x->tickInterval()),
           qPrintable(QString::number(x->tickInterval())));
  page->setTarget(3.3);
  QVERIFY2(page->summaryText().contains(QRegularExpression(QStringLiteral("update \\d+(;|$)"))) &&
               !page->summaryText().contains(QRegularExpression(QStringLiteral("\\d\\.\\d\\d"))),
           qPrintable(page->summaryText()));
  Shot(w.get(), "curves-final-val");
  // One run twice: two identical curves, said so.
  QVERIFY(w->showCurvesNow({1, 1}));
  QVERIFY2(page->summaryText().contains(QStringLiteral("Identical loss curves")),
           qPrintable(page->summaryText()));
}

// Issue 30 item 6: under the play head, ops already done keep their colours and ops still to come
// are washed out (they looked alike: only the red line moved).
void DailyUseTest::replayTellsPastFromFuture() {
  auto w = window(1600, 1000);
  QVERIFY(w);
  QVERIFY(w->openStore(db_a_));
  QVERIFY(w->openRunNow(a_.predicted));
  w->showView(MainWindow::View::kReplay);  // fills the replay page
  ReplayPage* page = w->replayPage();
  QVERIFY(page->model().index());
  TimelineWidget* tl = page->timeline();
  tl->fit();
  const TraceIndex& ix = *page->model().index();
  const int64_t t = ix.makespan() / 2;
  page->model().setTime(t);
  tl->fit();  // the whole run in view, so both a done op and one to come are on screen
  QCoreApplication::processEvents();
  // The widest compute op of stage 0 that ended before t, and one that starts after it.
  const auto [b, e] = ix.Row(0, ir::LANE_COMPUTE);
  std::optional<size_t> past, future;
  for (size_t i = b; i < e; ++i) {
    const OpSpan& op = ix.op(i);
    if (op.end < t && (!past || op.end - op.start > ix.op(*past).end - ix.op(*past).start)) past = i;
    if (op.start > t && (!future || op.end - op.start > ix.op(*future).end - ix.op(*future).start))
      future = i;
  }
  QVERIFY(past && future);
  QCOMPARE(tl->replayLook(*past), TimelineWidget::ReplayLook::kDone);
  QCOMPARE(tl->replayLook(*future), TimelineWidget::ReplayLook::kFuture);
  // Their pixels, just inside each box's top-left corner (clear of outline and label).
  // The page's own lane geometry (a model over the same index, not owning it: the page does).
  const TimelineModel model(std::shared_ptr<const TraceIndex>(std::shared_ptr<const TraceIndex>{}, &ix), 1);
  const QImage img = tl->grab().toImage();
  auto pixel = [&](size_t i) {
    const QRectF r = model.OpRect(i, tl->axis()).translated(64, 26 + 20);  // gutter, ruler + title
    return img.pixelColor(QPoint(static_cast<int>(r.left()) + 3, static_cast<int>(r.top()) + 3));
  };
  const QColor done = pixel(*past), to_come = pixel(*future);
  const QColor done_fill = OpFill(ix.op(*past)), to_come_fill = OpFill(ix.op(*future));
  QVERIFY2(std::abs(done.lightness() - done_fill.lightness()) <= 3,
           qPrintable(QStringLiteral("done op %1, its colour %2").arg(done.name(), done_fill.name())));
  QVERIFY2(
      to_come.lightness() > to_come_fill.lightness() + 20,
      qPrintable(QStringLiteral("op to come %1, its colour %2").arg(to_come.name(), to_come_fill.name())));
  Shot(w.get(), "replay-past-future");
}

// Item 11: the explorer's default answers "which K and P in the long run": PACI at P = 4, K = 4
// (4 / 8 / 0.3 ms) was shown at its 16-micro-batch run's 69.8 micro-batches/s and 27.8 % bubble,
// dominated by fill and drain. The cards now lead with the steady state (a run 100x longer gives
// the same figure within 1 %), with the short run's figure and length named beside it; the
// heatmap's cells are steady-state figures too. 1F1B-flush has no fill to amortise: both agree.
void DailyUseTest::explorerShowsTheSteadyState() {
  ExplorerPage page(MakePaciSimBackend());
  page.resize(1400, 900);
  page.show();
  QTRY_VERIFY_WITH_TIMEOUT(page.model().outcome() && !page.model().busy(), 30000);
  const ExplorerConfig base = page.model().config();
  QCOMPARE(base.kind, ir::PACI);
  QCOMPARE(base.stages, 4u);
  QCOMPARE(base.accum, 4u);
  QCOMPARE(base.total_microbatches, uint64_t{0});
  const MetricCards c = page.model().outcome()->cards;
  QCOMPARE(c.microbatches, uint64_t{16});
  // A long run of the same configuration: what "steady state" promises.
  auto long_run = [&](ExplorerConfig cfg) {
    cfg.total_microbatches = 1600;
    auto spec = SpecOf(cfg);
    auto cost = CostOf(*page.model().backend(), cfg, *spec);
    return page.model().backend()->Simulate(*spec, *cost);
  };
  auto paci_long = long_run(base);
  QVERIFY(paci_long.ok());
  const double long_mbps = paci_long->cards.microbatches_per_s;
  QVERIFY2(std::abs(c.steady_microbatches_per_s - long_mbps) < 0.01 * long_mbps,
           qPrintable(QStringLiteral("steady %1 vs a 1600-micro-batch run %2")
                          .arg(c.steady_microbatches_per_s)
                          .arg(long_mbps)));
  QVERIFY2(c.microbatches_per_s < 0.9 * c.steady_microbatches_per_s,
           qPrintable(QStringLiteral("short run %1").arg(c.microbatches_per_s)));
  QVERIFY(c.steady_bubble_fraction < c.bubble_fraction - 0.1);
  QVERIFY(std::abs(c.steady_bubble_fraction - paci_long->cards.bubble_fraction) < 0.01);
  // The cards say so: the steady figure big, "steady state" and the short run named beside.
  QCOMPARE(page.throughputCard()->text(), FormatFixed(c.steady_tokens_per_s, 0) + QStringLiteral(" tok/s"));
  const QString note = page.throughputNote()->text();
  QVERIFY2(note.contains(QStringLiteral("steady state")) && note.contains(QStringLiteral("run of 16")) &&
               note.contains(FormatFixed(c.microbatches_per_s, 1)) &&
               note.contains(FormatFixed(c.steady_microbatches_per_s, 1)),
           qPrintable(note));
  QCOMPARE(page.bubbleCard()->text(),
           FormatPercent(100 * c.steady_bubble_fraction, 1) + QStringLiteral(" %"));
  QVERIFY(page.throughputCard()->toolTip().contains(QStringLiteral("16 micro-batches")));
  QVERIFY2(page.bubbleNote()->text().contains(FormatPercent(100 * c.bubble_fraction, 1)),
           qPrintable(page.bubbleNote()->text()));
  // The heatmap's cell for this K and P is the steady state too.
  QSignalSpy swept(&page.model(), &ExplorerModel::sweepReady);
  page.model().runSweep({4}, {4});
  QVERIFY(swept.wait(60000));
  QCOMPARE(page.model().sweep().At(0, 0).Value(SweepMetric::kThroughput), c.steady_tokens_per_s);
  QCOMPARE(page.model().sweep().At(0, 0).Value(SweepMetric::kBubble), c.steady_bubble_fraction);
  Shot(&page, "explorer-steady-state");
  // Item 9: the peak-memory card wraps between stages, never inside one ("S3" / "1.2 GiB").
  QLabel* peak = nullptr;
  for (QGroupBox* card : page.findChildren<QGroupBox*>())
    if (card->title() == QStringLiteral("Peak memory per stage")) peak = card->findChild<QLabel*>();
  QVERIFY(peak);
  // The only breakable spaces are after the separators: no line starts with "·" either.
  const QStringList entries = peak->text().split(QString(QChar::Nbsp) + QStringLiteral("· "));
  QCOMPARE(entries.size(), 4);
  for (const QString& e : entries) QVERIFY2(!e.contains(QLatin1Char(' ')), qPrintable(e));

  // 1F1B-flush: every update is the same, so the short run is already the steady state.
  ExplorerConfig flush = base;
  flush.kind = ir::ONE_F_ONE_B_FLUSH;
  QSignalSpy ready(&page.model(), &ExplorerModel::outcomeReady);
  page.setConfig(flush);
  QVERIFY(ready.wait(30000));
  const MetricCards f = page.model().outcome()->cards;
  QVERIFY2(std::abs(f.steady_microbatches_per_s - f.microbatches_per_s) < 1e-6 * f.microbatches_per_s,
           qPrintable(QStringLiteral("%1 vs %2").arg(f.steady_microbatches_per_s).arg(f.microbatches_per_s)));
  // PACI's advantage in the long run, as the cards now show it.
  QVERIFY(c.steady_microbatches_per_s / f.steady_microbatches_per_s > 1.6);
}

// Item 9, the cosmetics still open in session 8: makespans in one table read "249.0 ms" and
// "420.00 ms" (the decimals followed each value's own step), a residual read "-136080.1 us", and
// a stored simulation with typed costs showed a blank tokens/s where the explorer shows one.
void DailyUseTest::durationsAndThroughputReadAlike() {
  QCOMPARE(FormatDuration(249e6), QStringLiteral("249.0 ms"));
  QCOMPARE(FormatDuration(420e6), QStringLiteral("420.0 ms"));
  QCOMPARE(FormatDuration(-136080.1e3), QStringLiteral("-136.1 ms"));
  QCOMPARE(FormatDuration(1234.6e6), QStringLiteral("1.235 s"));
  QCOMPARE(FormatDuration(12345e9), QStringLiteral("12,345 s"));
  QCOMPARE(FormatDuration(999.96e3), QStringLiteral("1.000 ms"));
  QCOMPARE(FormatDuration(850), QStringLiteral("850 ns"));
  QCOMPARE(FormatDuration(0), QStringLiteral("0 ns"));
  RunListModel list;
  RunSummary a, b;
  a.id = 1;
  a.makespan_ns = 249e6;
  a.microbatches_per_s = 70.175;  // typed costs: no tokens per micro-batch
  b.id = 2;
  b.makespan_ns = 420e6;
  b.tokens_per_s = 37402.4;
  b.microbatches_per_s = 4.6;
  list.setRuns({a, b});
  auto cell = [&](int row, int col) { return list.data(list.index(row, col), Qt::DisplayRole).toString(); };
  QCOMPARE(cell(0, RunListModel::kMakespan), QStringLiteral("249.0 ms"));
  QCOMPARE(cell(1, RunListModel::kMakespan), QStringLiteral("420.0 ms"));
  QCOMPARE(cell(0, RunListModel::kTokensPerS), QStringLiteral("70.2 mb/s"));
  QCOMPARE(cell(1, RunListModel::kTokensPerS), QStringLiteral("37,402"));
}

QTEST_MAIN(DailyUseTest)
#include "tst_daily_use.moc"
