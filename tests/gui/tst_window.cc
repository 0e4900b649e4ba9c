// The main window offscreen: open a store, open a run asynchronously, zoom with the wheel, select
// an op with a click, compare two runs, change K in the explorer page, and export PNG and SVG.
#include <QTemporaryDir>
#include <QtTest>

#include "gui/viewer/compare_page.h"
#include "gui/viewer/curves_page.h"
#include "gui/viewer/explorer_page.h"
#include "gui/viewer/heatmap_widget.h"
#include "gui/viewer/main_window.h"
#include "gui/viewer/run_browser.h"
#include "gui/viewer/timeline_page.h"
#include "gui/viewer/timeline_widget.h"
#include "store/store_merge.h"
#include "tests/gui/demo_runs.h"

using namespace paci;
using namespace paci::gui;

class WindowTest : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase();
  void openZoomSelect();
  void compareAndExport();
  void explorerPage();
  void badStoreShowsMessage();
  void runWithoutOpsSaysSo();

 private:
  QTemporaryDir dir_;
  QString db_;
  guitest::DemoIds ids_;
  std::unique_ptr<MainWindow> w_;
};

void WindowTest::initTestCase() {
  db_ = dir_.filePath(QStringLiteral("demo.db"));
  auto ids = guitest::WriteDemoStore(db_.toStdString());
  QVERIFY(ids.ok());
  ids_ = *ids;
  w_ = std::make_unique<MainWindow>(MakePaciSimBackend());
  w_->setInteractive(false);
  w_->resize(1400, 900);
  w_->show();
  QVERIFY(w_->openStore(db_));
  QCOMPARE(w_->browser()->model().rowCount(), static_cast<int>(ids_.all.size()));
}

void WindowTest::openZoomSelect() {
  QSignalSpy shown(w_.get(), &MainWindow::runShown);
  w_->openRun(ids_.predicted);
  QVERIFY(shown.wait(30000));
  TimelineWidget* tl = w_->timelinePage()->timeline();
  QVERIFY(tl->isVisible());
  const double span = tl->axis().VisibleEnd() - tl->axis().VisibleStart();
  const QPointF pos(tl->width() / 2.0, 60);
  QWheelEvent wheel(pos, tl->mapToGlobal(pos), QPoint(), QPoint(0, 240), Qt::NoButton, Qt::NoModifier,
                    Qt::NoScrollPhase, false);
  QApplication::sendEvent(tl, &wheel);
  QVERIFY(tl->axis().VisibleEnd() - tl->axis().VisibleStart() < span * 0.8);
  // Click every 7 px along stage 0's compute band until something is selected.
  TimelineModel* m = w_->timelinePage()->model();
  QSignalSpy selected(tl, &TimelineWidget::opSelected);
  tl->fit();
  const int y = static_cast<int>(26 + 20 + m->LaneRect(0, ir::LANE_COMPUTE, 1).center().y());
  for (int x = 70; x < tl->width() && !m->selected(); x += 7)
    QTest::mouseClick(tl, Qt::LeftButton, {}, QPoint(x, y));
  QVERIFY(m->selected().has_value());
  QVERIFY(selected.count() >= 1);
  QVERIFY(!m->edges().after.empty() || !m->edges().before.empty());
  // Drag pans.
  const double origin = tl->axis().origin_ns;
  QTest::mousePress(tl, Qt::LeftButton, {}, QPoint(400, y));
  QMouseEvent move(QEvent::MouseMove, QPointF(500, y), tl->mapToGlobal(QPointF(500, y)), Qt::NoButton,
                   Qt::LeftButton, Qt::NoModifier);
  QApplication::sendEvent(tl, &move);
  QTest::mouseRelease(tl, Qt::LeftButton, {}, QPoint(500, y));
  QVERIFY(tl->axis().origin_ns != origin);
}

void WindowTest::compareAndExport() {
  QVERIFY(w_->compareRunsNow(ids_.measured, ids_.predicted));
  const ComparisonModel* c = w_->comparePage()->model();
  QVERIFY(c);
  QCOMPARE(c->summaryA().kind, RunKind::kPredicted);  // the prediction goes on top
  const QString png = dir_.filePath(QStringLiteral("compare.png"));
  const QString svg = dir_.filePath(QStringLiteral("compare.svg"));
  QVERIFY(w_->exportCurrentView(png));
  QVERIFY(w_->exportCurrentView(svg));
  QImage img(png);
  QVERIFY(!img.isNull() && img.width() > 100);
  QFile f(svg);
  QVERIFY(f.open(QIODevice::ReadOnly));
  QVERIFY(f.readAll().contains("<svg"));
  QVERIFY(w_->showCurvesNow({ids_.predicted, ids_.flush}));
  QCOMPARE(w_->curvesPage()->model().runCount(), size_t{2});
}

void WindowTest::explorerPage() {
  ExplorerPage* page = w_->explorerPage();
  QSignalSpy ready(&page->model(), &ExplorerModel::outcomeReady);
  ExplorerConfig c = page->model().config();
  c.accum = 2;
  page->setConfig(c);
  QVERIFY(ready.wait(30000));
  QCOMPARE(page->model().outcome()->spec.accum(), 2u);

  // Sweep K x P, then click the heatmap's top-left cell: its configuration is simulated and shown.
  w_->showView(MainWindow::View::kExplorer);
  QSignalSpy swept(&page->model(), &ExplorerModel::sweepReady);
  page->model().runSweep({1, 8}, {2, 4});
  QVERIFY(swept.wait(60000));
  auto* heatmap = page->findChild<HeatmapWidget*>();
  QVERIFY(heatmap && heatmap->isVisible());
  // The grid spans [56, width - 12] x [28, height - 34] (heatmap_widget.cc); 2 x 2 cells.
  const QPoint cell(56 + (heatmap->width() - 68) / 4, 28 + (heatmap->height() - 62) / 4);
  ready.clear();
  QTest::mouseClick(heatmap, Qt::LeftButton, {}, cell);
  QVERIFY(ready.wait(30000));
  QCOMPARE(page->model().config().accum, 1u);
  QCOMPARE(page->model().config().stages, 2u);
  QCOMPARE(page->model().outcome()->spec.stages(), 2u);
}

void WindowTest::badStoreShowsMessage() {
  const QString bad = dir_.filePath(QStringLiteral("bad.db"));
  QFile f(bad);
  QVERIFY(f.open(QIODevice::WriteOnly));
  f.write("garbage garbage garbage");
  f.close();
  QVERIFY(!w_->openStore(bad));  // message on stderr in non-interactive mode; no crash
  QCOMPARE(w_->browser()->model().rowCount(), static_cast<int>(ids_.all.size()));
}

// A store merged --without-ops (`paci runs merge`, store/store_merge.h) keeps runs without their
// per-op trace: the viewer lists and opens them and says the run has no ops.
void WindowTest::runWithoutOpsSaysSo() {
  const QString lean = dir_.filePath(QStringLiteral("lean.db"));
  store::MergeOptions without_ops;
  without_ops.without_ops = true;
  auto merged = store::MergeStores({PACI_TRACES_DIR "/paci-vs-flush-p2.db"}, lean.toStdString(), without_ops);
  QVERIFY2(merged.ok(), merged.status().message().c_str());
  QVERIFY(w_->openStore(lean));
  QVERIFY(w_->browser()->model().rowCount() > 0);
  QVERIFY(w_->openRunNow(1));
  QVERIFY2(w_->timelinePage()->headerText().contains(QStringLiteral("no ops stored")),
           qPrintable(w_->timelinePage()->headerText()));
  QVERIFY(w_->timelinePage()->timeline()->grab().width() > 0);  // paints an empty run
}

QTEST_MAIN(WindowTest)
#include "tst_window.moc"
