// The viewer as a person first meets it, driven through the real widgets offscreen at the default
// window size: the Explorer tab shows the default configuration without any input, its timeline
// shows every stage (or scrolls to it), `paci-viewer --help` needs no display, comparing a run
// with itself finishes loading, the empty Side-by-side tab shows a hint rather than a time axis,
// and the run list shows the results a person scans for, from a real recorded store.
#include <QFile>
#include <QLabel>
#include <QProcess>
#include <QScrollArea>
#include <QScrollBar>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

#include "gui/viewer/compare_page.h"
#include "gui/viewer/explorer_page.h"
#include "gui/viewer/main_window.h"
#include "gui/viewer/run_browser.h"
#include "gui/viewer/timeline_widget.h"
#include "store/run_metrics.h"
#include "store/trace_store.h"
#include "sim/simulator.h"
#include "tests/gui/demo_runs.h"

using namespace paci;
using namespace paci::gui;

class FirstLookTest : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase();
  void explorerShowsTheDefaultAtOnce();
  void explorerShowsEveryStage_data();
  void explorerShowsEveryStage();
  void sweepLeavesNoStaleStatus();
  void flushKIsMicrobatchesPerUpdate();
  void helpNeedsNoDisplay();
  void emptySideBySideShowsAHint();
  void compareARunWithItself();
  void runListShowsResults();

 private:
  QTemporaryDir dir_;
  guitest::DemoIds ids_;
  std::unique_ptr<MainWindow> w_;
};

void FirstLookTest::initTestCase() {
  const QString db = dir_.filePath(QStringLiteral("demo.db"));
  auto ids = guitest::WriteDemoStore(db.toStdString());
  QVERIFY(ids.ok());
  ids_ = *ids;
  w_ = std::make_unique<MainWindow>(MakePaciSimBackend());  // its own default size
  w_->setInteractive(false);
  w_->show();
  QVERIFY(QTest::qWaitForWindowExposed(w_.get()));
  QVERIFY(w_->openStore(db));
}

void FirstLookTest::explorerShowsTheDefaultAtOnce() {
  // No input touched: the page simulated its default configuration when it was built.
  w_->showView(MainWindow::View::kExplorer);
  ExplorerPage* page = w_->explorerPage();
  QTRY_VERIFY_WITH_TIMEOUT(page->model().outcome() != nullptr && !page->model().busy(), 30000);
  QCOMPARE(page->model().outcome()->spec.stages(), ExplorerConfig{}.stages);
  QTRY_VERIFY_WITH_TIMEOUT(page->timeline()->axis().extent_ns > 1e6, 10000);
  for (QLabel* label : page->findChildren<QLabel*>()) {
    QVERIFY2(label->text() != QStringLiteral("–"), "a metric card still shows '–'");
  }
  // The time axis starts at the run (a 1 % margin), not at -5 ns of an empty timeline.
  const TimeAxis& axis = page->timeline()->axis();
  QVERIFY(axis.VisibleStart() >= -0.02 * axis.extent_ns);
  QVERIFY(axis.VisibleEnd() >= axis.extent_ns);
}

void FirstLookTest::explorerShowsEveryStage_data() {
  QTest::addColumn<int>("stages");
  QTest::newRow("P=4") << 4;
  QTest::newRow("P=8") << 8;
  QTest::newRow("P=32") << 32;
}

void FirstLookTest::explorerShowsEveryStage() {
  QFETCH(int, stages);
  w_->showView(MainWindow::View::kExplorer);
  ExplorerPage* page = w_->explorerPage();
  ExplorerConfig c = page->model().config();
  c.stages = static_cast<uint32_t>(stages);
  c.accum = static_cast<uint32_t>(stages);
  page->setConfig(c);  // P = 4 is the default: nothing to re-simulate
  QTRY_VERIFY_WITH_TIMEOUT(page->model().outcome() && !page->model().busy() &&
                               page->model().outcome()->spec.stages() == static_cast<uint32_t>(stages),
                           60000);
  QCoreApplication::processEvents();
  TimelineWidget* tl = page->timeline();
  QScrollArea* scroll = page->timelineScroll();
  const int rows = tl->sizeHint().height();
  const int viewport = scroll->viewport()->height();
  // Every row is on screen, or the scroll bar reaches the last one.
  QVERIFY2(rows <= viewport || scroll->verticalScrollBar()->maximum() >= rows - viewport,
           qPrintable(QStringLiteral("rows need %1 px, pane shows %2 px, scrolls %3 px")
                          .arg(rows)
                          .arg(viewport)
                          .arg(scroll->verticalScrollBar()->maximum())));
  QVERIFY(tl->height() >= rows);
  // At the default window size a P = 4 run fits without scrolling.
  if (stages == 4) QVERIFY2(rows <= viewport, qPrintable(QStringLiteral("%1 > %2").arg(rows).arg(viewport)));
}

void FirstLookTest::sweepLeavesNoStaleStatus() {
  ExplorerPage* page = w_->explorerPage();
  QSignalSpy swept(&page->model(), &ExplorerModel::sweepReady);
  page->startSweep();  // the button's slot
  QVERIFY(swept.wait(60000));
  for (QLabel* label : page->findChildren<QLabel*>()) {
    QVERIFY2(!label->text().contains(QStringLiteral("Simulating")), qPrintable(label->text()));
  }
}

// K reads as on the command line: micro-batches per update for every schedule, so a flush
// schedule's iteration follows K (and the K x P heatmap's rows differ for flush schedules too).
void FirstLookTest::flushKIsMicrobatchesPerUpdate() {
  ExplorerPage* page = w_->explorerPage();
  ExplorerConfig c;
  c.kind = ir::ONE_F_ONE_B_FLUSH;
  c.stages = 4;
  c.accum = 12;
  page->setConfig(c);
  QTRY_VERIFY_WITH_TIMEOUT(page->model().outcome() && !page->model().busy() &&
                               page->model().outcome()->spec.kind() == ir::ONE_F_ONE_B_FLUSH,
                           60000);
  QCOMPARE(page->model().outcome()->spec.microbatches_per_iteration(), 12u);
  QSignalSpy swept(&page->model(), &ExplorerModel::sweepReady);
  page->model().runSweep({2, 16}, {4});
  QVERIFY(swept.wait(60000));
  QVERIFY(page->model().sweep().At(0, 0).ok && page->model().sweep().At(1, 0).ok);
  QVERIFY(page->model().sweep().At(0, 0).bubble_fraction > page->model().sweep().At(1, 0).bubble_fraction);
}

void FirstLookTest::helpNeedsNoDisplay() {
  QProcess viewer;
  QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
  env.remove(QStringLiteral("QT_QPA_PLATFORM"));
  env.remove(QStringLiteral("DISPLAY"));
  env.remove(QStringLiteral("WAYLAND_DISPLAY"));
  viewer.setProcessEnvironment(env);
  viewer.start(QStringLiteral(PACI_VIEWER_BIN), {QStringLiteral("--help")});
  QVERIFY(viewer.waitForFinished(30000));
  QCOMPARE(viewer.exitStatus(), QProcess::NormalExit);
  QCOMPARE(viewer.exitCode(), 0);
  const QString out = QString::fromLocal8Bit(viewer.readAllStandardOutput());
  QVERIFY2(out.contains(QStringLiteral("--screenshot")), qPrintable(out));
}

void FirstLookTest::emptySideBySideShowsAHint() {
  // Nothing compared yet: no time ruler (it once read from -6 ns), a hint where the runs go.
  w_->showView(MainWindow::View::kCompare);
  TimelineWidget* t = w_->comparePage()->timeline();
  QVERIFY(w_->comparePage()->model() == nullptr);
  QVERIFY(t->rulerTicks().empty());
  QVERIFY(t->emptyText().contains(QStringLiteral("Compare two")));
  for (QTableWidget* table : w_->comparePage()->findChildren<QTableWidget*>()) QVERIFY(!table->isVisible());
  const QImage shot = t->grab().toImage();
  QVERIFY(!shot.isNull());
}

void FirstLookTest::compareARunWithItself() {
  w_->showView(MainWindow::View::kRuns);
  w_->compareRuns(ids_.predicted, ids_.predicted);  // asynchronous, as the run browser does it
  // The tab comes to front at once, saying what loads; the comparison follows.
  QTRY_VERIFY_WITH_TIMEOUT(w_->comparePage()->model() != nullptr, 30000);
  QCOMPARE(w_->currentView(), static_cast<QWidget*>(w_->comparePage()));
  QCOMPARE(w_->comparePage()->model()->summaryA().id, ids_.predicted);
  QCOMPARE(w_->comparePage()->model()->summaryB().id, ids_.predicted);
  for (QTableWidget* table : w_->comparePage()->findChildren<QTableWidget*>()) QVERIFY(table->isVisible());
}

namespace {

// The text the run list shows in `column` for run `id`.
QString Cell(const RunBrowser& browser, int64_t id, int column) {
  auto& model = const_cast<RunBrowser&>(browser).model();
  for (int row = 0; row < model.rowCount(); ++row) {
    if (model.runs()[row].id == id) return model.data(model.index(row, column)).toString();
  }
  return QStringLiteral("<no run %1>").arg(id);
}

}  // namespace

void FirstLookTest::runListShowsResults() {
  // A real recorded store: PACI and 1F1B-flush trained by this executor (runs 1 and 3) with their
  // `paci predict` predictions (2 and 4), linked. Opened in a copy: the viewer migrates it.
  const QString db = dir_.filePath(QStringLiteral("recorded.db"));
  QVERIFY(QFile::copy(QStringLiteral(PACI_TRACES_DIR "/paci-vs-flush-p2.db"), db));
  QVERIFY(QFile::setPermissions(db, QFile::ReadOwner | QFile::WriteOwner));
  MainWindow w(MakePaciSimBackend());
  w.setInteractive(false);
  w.show();
  QVERIFY(QTest::qWaitForWindowExposed(&w));
  QVERIFY(w.openStore(db));
  const RunBrowser& list = *w.browser();
  using C = RunListModel::Column;
  // Validation loss and tokens/s as the runs stored them (store/metric_keys.h).
  QCOMPARE(Cell(list, 1, C::kValLoss), QStringLiteral("3.1342"));
  QCOMPARE(Cell(list, 1, C::kTokensPerS), QStringLiteral("37,402"));  // thousands grouped
  QCOMPARE(Cell(list, 3, C::kValLoss), QStringLiteral("3.1267"));
  QCOMPARE(Cell(list, 2, C::kValLoss), QString());  // a prediction has no loss
  // The error vs the prediction is the one `paci compare` and the Side-by-side tab report for
  // the pair (store::CompareRuns over the ops), on both rows of the pair.
  store::OpenOptions options;
  options.replay = sim::Replay;
  auto ts = store::TraceStore::Open(db.toStdString(), options);
  QVERIFY(ts.ok());
  for (auto [pred, meas] : {std::pair<int64_t, int64_t>{2, 1}, {4, 3}}) {
    auto p = ts->LoadRun(pred);
    auto m = ts->LoadRun(meas);
    QVERIFY(p.ok() && m.ok());
    const store::RunComparison c = store::CompareRuns(*p, *m);
    const QString error = QString::asprintf("%+.2f%% (run %lld)", c.makespan_error_pct, static_cast<long long>(pred));
    QCOMPARE(Cell(list, meas, C::kError), error);
    QCOMPARE(Cell(list, pred, C::kError).left(6), error.left(6));
    QVERIFY(!Cell(list, meas, C::kMakespan).isEmpty());
    QVERIFY(std::abs(c.makespan_error_pct) > 0.01);  // a real error, not a placeholder
  }
  // The demo store's pair stores makespan_ns for both runs: the error comes from those.
  const RunBrowser& demo = *w_->browser();
  QVERIFY(Cell(demo, ids_.measured, C::kError).endsWith(QStringLiteral("(run %1)").arg(ids_.predicted)));
  QCOMPARE(Cell(demo, ids_.flush, C::kError), QString());  // no prediction linked
}

QTEST_MAIN(FirstLookTest)
#include "tst_first_look.moc"
