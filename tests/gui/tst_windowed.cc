// A run stored op by op, opened a window at a time (real SQLite store, real offscreen widgets):
// the timeline opens from the run's summary with no op in memory, draws far-out zoom levels from
// it (busy totals equal to the op rows'), and when zoomed in loads exactly the ops that meet the
// window, off the UI thread, then draws and selects them. The 9 M-row case is in bench/.
#include <sqlite3.h>

#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include "gui/model/run_loader.h"
#include "gui/model/sim_backend.h"
#include "gui/viewer/main_window.h"
#include "gui/viewer/replay_page.h"
#include "gui/viewer/timeline_page.h"
#include "gui/viewer/timeline_widget.h"
#include "sched/schedule_generator.h"
#include "sim/simulator.h"
#include "sim/stage_cost_model.h"
#include "store/trace_store.h"

using namespace paci;
using namespace paci::gui;

class WindowedTest : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase();
  void overviewMatchesTheOpRows();
  void zoomLoadsExactlyTheWindow();
  void handEditedStageIsAMessage();
  void mainWindowOpensWindowedAndReplaysWhole();
  void replayedRunOpensWindowed();

 private:
  QTemporaryDir dir_;
  std::string path_;
  int64_t id_ = 0;
  int64_t replayed_id_ = 0;          // the same run, predicted and kept by its IR (re-simulated)
  std::vector<ir::TraceEvent> ops_;  // the run as stored, by op id
};

void WindowedTest::initTestCase() {
  // A jittered simulation written op by op, as a measured run is (every op a row).
  QVERIFY(dir_.isValid());
  path_ = dir_.filePath(QStringLiteral("rows.db")).toStdString();
  ir::PipelineSpec spec;
  spec.set_kind(ir::PACI);
  spec.set_stages(4);
  spec.set_accum(4);
  spec.set_total_microbatches(1500);
  auto schedule = GenerateSchedule(spec);
  QVERIFY(schedule.ok());
  sim::UniformCost u;
  u.jitter_cv = 0.2;
  const ir::CostModel cost = sim::MakeCostModel(u);
  auto store = store::TraceStore::Open(path_);
  QVERIFY(store.ok());
  store::RunInfo info;
  info.kind = store::RunKind::kMeasured;
  info.schedule = *schedule;
  info.cost_model = cost;
  auto writer = store->BeginRun(info);
  QVERIFY(writer.ok());
  sim::SimulationOptions options;
  options.sink = &*writer;
  QVERIFY(sim::Simulate(*schedule, cost, options).ok());
  QVERIFY(writer->Finish(store::RunStatus::kComplete).ok());
  id_ = writer->run_id();
  // The same run as `paci simulate` keeps a long one: by its IR, re-simulated when read.
  info.kind = store::RunKind::kPredicted;
  auto compact = store->BeginRun(info, store::WriterOptions{.replay_above_ops = 1000});
  QVERIFY(compact.ok());
  options.sink = &*compact;
  QVERIFY(sim::Simulate(*schedule, cost, options).ok());
  QVERIFY(compact->Finish(store::RunStatus::kComplete).ok());
  replayed_id_ = compact->run_id();
  auto whole = store->LoadRun(id_);
  QVERIFY(whole.ok());
  ops_ = std::move(whole->ops);
  QVERIFY(ops_.size() > 30000);
}

void WindowedTest::overviewMatchesTheOpRows() {
  auto source = OpenStoreSource(path_, /*windowed_above_ops=*/1000);
  QVERIFY(source.ok());
  auto run = LoadAndIndex(**source, id_, {}, LoadDetail::kWindowed);
  QVERIFY2(run.ok(), run.status().message().c_str());
  const RunOverview* overview = (*run)->trace.overview.get();
  QVERIFY(overview != nullptr);
  QVERIFY((*run)->trace.windows != nullptr);
  QCOMPARE((*run)->index->ops().size(), size_t{0});  // no op in memory
  QCOMPARE(overview->op_count(), static_cast<int64_t>(ops_.size()));
  // The whole run's busy time per row, from 300 pixel columns of the overview, equals the sum
  // of the op rows' durations; each column is close to the exact value from every op.
  const TraceIndex exact = TraceIndex::Build(ops_, 4);
  QCOMPARE(overview->makespan(), exact.makespan());
  const size_t n = 300;
  const double w = static_cast<double>(exact.makespan() + 1) / n;
  for (uint32_t s = 0; s < 4; ++s) {
    for (ir::Lane lane : {ir::LANE_COMPUTE, ir::LANE_SEND, ir::LANE_RECV}) {
      const auto [b, e] = exact.Row(s, lane);
      double sum_ops = 0;
      for (size_t i = b; i < e; ++i) sum_ops += exact.op(i).end - exact.op(i).start;
      const std::vector<float> f = overview->BusyFractions(s, lane, 0, w, n);
      const std::vector<float> g = exact.BusyFractions(s, lane, 0, w, n);
      double err = 0;
      for (size_t i = 0; i < n; ++i) err += std::abs(f[i] - g[i]);
      // One column as wide as the run and its last tile: its fraction times its width is the
      // row's whole busy time (columns of a busy row are clamped at 1, so no sum of them is).
      const double whole = static_cast<double>(overview->makespan() + overview->tile_ns());
      const double sum_tiles = overview->BusyFractions(s, lane, 0, whole, 1)[0] * whole;
      QVERIFY2(
          std::abs(sum_tiles - sum_ops) <= 1e-6 * sum_ops + 1,
          qPrintable(
              QStringLiteral("stage %1 lane %2: %3 vs %4").arg(s).arg(lane).arg(sum_tiles).arg(sum_ops)));
      QVERIFY2(err / n < 0.05, qPrintable(QStringLiteral("mean column error %1").arg(err / n)));
    }
  }
  QCOMPARE(overview->OpsIn(0, static_cast<double>(exact.makespan())), static_cast<int64_t>(ops_.size()));
}

void WindowedTest::zoomLoadsExactlyTheWindow() {
  auto source = OpenStoreSource(path_, /*windowed_above_ops=*/1000);
  QVERIFY(source.ok());
  auto run = LoadAndIndex(**source, id_, {}, LoadDetail::kWindowed);
  QVERIFY(run.ok());
  TimelinePage page;
  page.resize(1200, 500);
  page.show();
  page.setMaxWindowOps(5000);  // the whole run is over it, as 9 M ops are over the default
  page.setRun((*run)->index, 1, QStringLiteral("rows"), (*run)->trace.overview, (*run)->trace.windows);
  TimelineModel* model = page.model();
  TimelineWidget* tl = page.timeline();
  const double makespan = static_cast<double>(model->index().makespan());
  // Whole run in view: drawn from the overview, every row as coverage, nothing loaded.
  QVERIFY(!page.windowLoading());
  QVERIFY(!model->Covers(tl->axis().VisibleStart(), tl->axis().VisibleEnd()));
  QVERIFY2(page.windowStatus().startsWith(QStringLiteral("Summary")), qPrintable(page.windowStatus()));
  int rows = 0;
  model->ForEachVisible(
      tl->axis(), [](const TimelineModel::Box&) { QFAIL("a box from no ops"); },
      [&](const TimelineModel::Coverage& c) { rows += c.busy.size() > 0; });
  QCOMPARE(rows, 4 * kLanesPerStage);
  (void)tl->grab();

  // Zoom to 2 % of the run in its middle: the ops meeting the loaded window, exactly.
  const double t0 = makespan * 0.49, t1 = makespan * 0.51;
  tl->showRange(t0, t1);
  QTRY_VERIFY_WITH_TIMEOUT(
      !page.windowLoading() && model->Covers(tl->axis().VisibleStart(), tl->axis().VisibleEnd()), 20000);
  QVERIFY2(page.windowStatus().contains(QStringLiteral("loaded")), qPrintable(page.windowStatus()));
  const double w0 = model->window_start(), w1 = model->window_end();
  const int64_t offset = model->index().offset_ns();
  std::vector<uint64_t> want, got;
  for (const auto& e : ops_) {
    // The page asks for [floor(w0), ceil(w1) + 1) in the run's clock.
    if (e.start_ns() < offset + static_cast<int64_t>(std::ceil(w1)) + 1 &&
        e.end_ns() > offset + static_cast<int64_t>(std::floor(w0)))
      want.push_back(e.op_id());
  }
  for (const OpSpan& s : model->index().ops()) got.push_back(s.op_id);
  std::sort(got.begin(), got.end());
  QVERIFY(!want.empty());
  QVERIFY(want.size() < ops_.size() / 4);
  QCOMPARE(got, want);

  // Drawn as boxes now; a click on an op in view selects it.
  int boxes = 0;
  model->ForEachVisible(tl->axis(), [&](const TimelineModel::Box&) { ++boxes; });
  QVERIFY(boxes > 0);
  (void)tl->grab();
  QVERIFY(page.selectOpId(got[got.size() / 2]));

  const uint64_t selected = got[got.size() / 2];
  QVERIFY(model->selected().has_value());

  // Panning within the loaded window needs no load; far away, a new window is loaded.
  tl->showRange(t0 + (t1 - t0) / 4, t1 + (t1 - t0) / 4);
  QVERIFY(model->Covers(tl->axis().VisibleStart(), tl->axis().VisibleEnd()));
  QVERIFY(!page.windowLoading());
  // Zoomed out a little past the window: the next window still holds the selected op.
  tl->showRange(t0 - (t1 - t0), t1 + (t1 - t0));
  QTRY_VERIFY_WITH_TIMEOUT(
      !page.windowLoading() && model->Covers(tl->axis().VisibleStart(), tl->axis().VisibleEnd()), 20000);
  QVERIFY(model->selected().has_value());
  QCOMPARE(model->index().op(*model->selected()).op_id, selected);
  tl->showRange(makespan * 0.05, makespan * 0.07);
  QVERIFY(!model->Covers(tl->axis().VisibleStart(), tl->axis().VisibleEnd()));
  QTRY_VERIFY_WITH_TIMEOUT(
      !page.windowLoading() && model->Covers(tl->axis().VisibleStart(), tl->axis().VisibleEnd()), 20000);
}

// Issue 30 item 7: a replayed run (paci simulate's long runs) opens as a stored one does, from
// its summary (tiled as it is re-simulated) with no op in memory, and loads exactly the ops of a
// window (re-simulated, only those kept); before, it was re-simulated into memory whole (9 M ops:
// 1.46 GB and 4-6 s to first paint).
void WindowedTest::replayedRunOpensWindowed() {
  auto source = OpenStoreSource(path_, /*windowed_above_ops=*/1000);
  QVERIFY(source.ok());
  auto run = LoadAndIndex(**source, replayed_id_, {}, LoadDetail::kWindowed);
  QVERIFY2(run.ok(), run.status().message().c_str());
  QVERIFY((*run)->trace.summary.replayed);
  const RunOverview* overview = (*run)->trace.overview.get();
  QVERIFY(overview != nullptr);
  QVERIFY((*run)->trace.windows != nullptr);
  QCOMPARE((*run)->index->ops().size(), size_t{0});
  QCOMPARE(overview->op_count(), static_cast<int64_t>(ops_.size()));
  const TraceIndex exact = TraceIndex::Build(ops_, 4);
  QCOMPARE(overview->makespan(), exact.makespan());
  for (uint32_t s = 0; s < 4; ++s) {
    const auto [b, e] = exact.Row(s, ir::LANE_COMPUTE);
    double sum_ops = 0;
    for (size_t i = b; i < e; ++i) sum_ops += exact.op(i).end - exact.op(i).start;
    const double whole = static_cast<double>(overview->makespan() + overview->tile_ns());
    const double sum_tiles = overview->BusyFractions(s, ir::LANE_COMPUTE, 0, whole, 1)[0] * whole;
    QVERIFY2(std::abs(sum_tiles - sum_ops) <= 1e-6 * sum_ops + 1,
             qPrintable(QStringLiteral("stage %1: %2 vs %3").arg(s).arg(sum_tiles).arg(sum_ops)));
  }
  const int64_t t0 = exact.makespan() * 49 / 100, t1 = exact.makespan() * 51 / 100;
  auto w = (*run)->trace.windows->Load(t0, t1, 1 << 20);
  QVERIFY2(w.ok(), w.status().message().c_str());
  std::vector<uint64_t> want, got;
  for (const auto& e : ops_)
    if (e.start_ns() < t1 && e.end_ns() > t0) want.push_back(e.op_id());
  for (const auto& e : w->ops) got.push_back(e.op_id());
  QVERIFY(!want.empty());
  QCOMPARE(got, want);
}

void WindowedTest::handEditedStageIsAMessage() {
  // A copy whose op in the middle names stage 10^9: the window holding it is refused with a
  // message naming the run (as LoadRun refuses the whole run), and nothing is allocated for it.
  const QString copy = dir_.filePath(QStringLiteral("edited.db"));
  QVERIFY(QFile::copy(QString::fromStdString(path_), copy));
  const uint64_t victim = ops_[ops_.size() / 2].op_id();
  sqlite3* db = nullptr;
  QCOMPARE(sqlite3_open(copy.toUtf8().constData(), &db), SQLITE_OK);
  const std::string sql = "UPDATE ops SET stage = 1000000000 WHERE op_id = " + std::to_string(victim);
  QCOMPARE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto source = OpenStoreSource(copy.toStdString(), /*windowed_above_ops=*/1000);
  QVERIFY(source.ok());
  auto run = LoadAndIndex(**source, id_, {}, LoadDetail::kWindowed);
  QVERIFY(run.ok());
  TimelinePage page;
  page.resize(1200, 500);
  page.setMaxWindowOps(5000);
  page.setRun((*run)->index, 1, QStringLiteral("edited"), (*run)->trace.overview, (*run)->trace.windows);
  const ir::TraceEvent& e = ops_[ops_.size() / 2];
  const double at = static_cast<double>(e.start_ns() - page.model()->index().offset_ns());
  const double half = static_cast<double>(page.model()->index().makespan()) * 0.005;
  page.timeline()->showRange(at - half, at + half);
  QTRY_VERIFY_WITH_TIMEOUT(!page.windowLoading(), 20000);
  QVERIFY2(page.windowStatus().contains(QStringLiteral("Could not load")), qPrintable(page.windowStatus()));
  QVERIFY(page.windowStatus().contains(QStringLiteral("stage")));
  QCOMPARE(page.model()->index().ops().size(), size_t{0});
  (void)page.timeline()->grab();  // still drawn, from the summary
}

void WindowedTest::mainWindowOpensWindowedAndReplaysWhole() {
  // As a person opens it: the timeline gets the summary and no ops; the Replay tab, which needs
  // every op, reads the run whole in the background when it is first shown.
  MainWindow w(MakePaciSimBackend());
  w.setInteractive(false);
  auto source = OpenStoreSource(path_, /*windowed_above_ops=*/1000);
  QVERIFY(source.ok());
  w.setSource(std::move(*source));
  bool shown = false;
  connect(&w, &MainWindow::runShown, this, [&] { shown = true; });
  w.openRun(id_);
  QTRY_VERIFY_WITH_TIMEOUT(shown, 20000);
  QVERIFY(w.timelinePage()->model()->overview() != nullptr);
  w.showView(MainWindow::View::kReplay);
  QTRY_VERIFY_WITH_TIMEOUT(w.replayPage()->model().index() != nullptr &&
                               w.replayPage()->model().index()->ops().size() == ops_.size(),
                           20000);
}

QTEST_MAIN(WindowedTest)
#include "tst_windowed.moc"
