// The acceptance flow against a real store and the in-process simulator, offscreen:
// open a store, list runs, select two (filter, then compare them), change K in the explorer and
// see the metric cards become the simulator's own numbers, and step the replay. Also: a bad file
// and a locked database give messages, not crashes.
#include <sqlite3.h>

#include <QAbstractItemModelTester>
#include <QTemporaryDir>
#include <QtTest>
#include <fstream>

#include "gui/model/comparison_model.h"
#include "gui/model/explorer_model.h"
#include "gui/model/replay_model.h"
#include "gui/model/run_list_model.h"
#include "gui/model/run_loader.h"
#include "sched/schedule_generator.h"
#include "sim/simulator.h"
#include "sim/stage_cost_model.h"
#include "store/trace_store.h"
#include "tests/gui/demo_runs.h"

using namespace paci;
using namespace paci::gui;

class FlowTest : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase();
  void openListSelectCompare();
  void explorerCardsFollowSimulator();
  void explorerSweep();
  void explorerTypedCostsAreTheCommandLines();
  void replaySteps();
  void asyncLoadWithProgress();
  void badFileIsAMessage();
  void lockedDatabaseIsAMessage();
  void recordedTracesOpen();
  void longPredictedRunIsReplayedIntoTheIndex();

 private:
  QTemporaryDir dir_;
  QString db_;
  guitest::DemoIds ids_;
};

void FlowTest::initTestCase() {
  QVERIFY(dir_.isValid());
  db_ = dir_.filePath(QStringLiteral("demo.db"));
  auto ids = guitest::WriteDemoStore(db_.toStdString());
  QVERIFY2(ids.ok(), ids.status().message().c_str());
  ids_ = *ids;
}

void FlowTest::openListSelectCompare() {
  auto source = OpenStoreSource(db_.toStdString());
  QVERIFY2(source.ok(), source.status().message().c_str());
  auto runs = (*source)->ListRuns();
  QVERIFY(runs.ok());
  QCOMPARE(runs->size(), ids_.all.size());
  RunListModel list;
  QAbstractItemModelTester tester(&list, QAbstractItemModelTester::FailureReportingMode::QtTest);
  list.setRuns(*runs);
  RunFilterModel filter;
  filter.setSourceModel(&list);
  // Select the PACI P=4 K=4 pair the way a user would: schedule paci, P=4, K=4.
  filter.setSchedule(QStringLiteral("paci"));
  filter.setStages(4u);
  filter.setAccum(4u);
  QCOMPARE(filter.rowCount(), 2);
  const int64_t first = filter.index(0, 0).data(RunListModel::RunIdRole).toLongLong();
  const int64_t second = filter.index(1, 0).data(RunListModel::RunIdRole).toLongLong();
  QCOMPARE(std::set<int64_t>({first, second}), std::set<int64_t>({ids_.predicted, ids_.measured}));
  auto a = (*source)->LoadRun(first, {}, LoadDetail::kWhole);
  auto b = (*source)->LoadRun(second, {}, LoadDetail::kWhole);
  QVERIFY(a.ok() && b.ok());
  if (PredictionShouldComeFirst(a->summary, b->summary)) std::swap(a, b);
  QCOMPARE(a->summary.kind, RunKind::kPredicted);
  ComparisonModel cmp(*a, *b);
  QVERIFY(cmp.comparison().same_ops);
  QVERIFY(cmp.makespanErrorPct() != 0);  // the measurement is jittered with a straggler
  QCOMPARE(cmp.stageErrors().size(), size_t{4});
  qInfo("%s", qPrintable(cmp.headline()));
}

void FlowTest::explorerCardsFollowSimulator() {
  ExplorerModel model(MakePaciSimBackend());
  QVERIFY(model.hasBackend());
  QSignalSpy ready(&model, &ExplorerModel::outcomeReady);
  ExplorerConfig c;
  c.kind = ir::PACI;
  c.stages = 4;
  c.accum = 1;
  model.setConfig(c);
  QVERIFY(ready.wait(30000));
  const MetricCards k1 = model.outcome()->cards;
  model.setAccum(8);
  QVERIFY(model.busy());  // off the UI thread: the call returned before the result
  QVERIFY(ready.wait(30000));
  const MetricCards k8 = model.outcome()->cards;
  QVERIFY(!(k1 == k8));

  // The cards are the simulator's numbers for that configuration, bit for bit.
  c.accum = 8;
  auto direct = sim::SimulateSpec(*SpecOf(c), *CostOf(*MakePaciSimBackend(), c, *SpecOf(c)));
  QVERIFY2(direct.ok(), direct.status().message().c_str());
  QCOMPARE(k8.tokens_per_s, direct->tokens_per_s);
  QCOMPARE(k8.bubble_fraction, direct->bubble_fraction);
  QCOMPARE(k8.makespan_ns, direct->makespan_ns);
  QCOMPARE(k8.peak_bytes.size(), direct->stages.size());
  double max_drift = 0;
  for (size_t s = 0; s < direct->stages.size(); ++s) {
    QCOMPARE(k8.peak_bytes[s], direct->stages[s].peak_memory_bytes);
    max_drift = std::max<double>(max_drift, direct->stages[s].max_drift);
  }
  QCOMPARE(k8.max_drift, max_drift);
  qInfo("K=1: %.0f tok/s, bubble %.3f, max drift %.0f; K=8: %.0f tok/s, bubble %.3f, max drift %.0f",
        k1.tokens_per_s, k1.bubble_fraction, k1.max_drift, k8.tokens_per_s, k8.bubble_fraction, k8.max_drift);

  // Two quick changes: only the last one's result lands.
  model.setAccum(2);
  model.setAccum(4);
  QTRY_VERIFY_WITH_TIMEOUT(!model.busy(), 30000);
  QCOMPARE(model.outcome()->spec.accum(), 4u);
}

// The typed costs are `paci simulate`'s uniform costs in its units: the default configuration
// (whole model 4 ms forward, 8 ms backward, 256 MiB activations, 1 GiB weights over P = 4, a
// 200 Gbit/s link with 20 us latency) is, on each stage, what these flags give:
//   --fwd-ms 1 --bwd-ms 1 --wgrad-ms 1 --opt-ms 0.3 --activation-mb 64 --wgrad-mb 16
//   --message-mb 8 --weights-mb 256 --latency-us 20 --bandwidth-gbps 200 --tokens-per-microbatch 8192
void FlowTest::explorerTypedCostsAreTheCommandLines() {
  const ExplorerConfig c;
  QCOMPARE(c.link_bandwidth_gbps, 200.0);
  Result<ir::PipelineSpec> spec = SpecOf(c);
  QVERIFY(spec.ok());
  Result<ir::CostModel> cost = CostOf(*MakePaciSimBackend(), c, *spec);
  QVERIFY2(cost.ok(), cost.status().message().c_str());
  sim::UniformCost u;
  u.fwd_ms = 1;
  u.bwd_ms = 1;
  u.wgrad_ms = 1;
  u.opt_ms = 0.3;
  u.activation_mb = 64;
  u.wgrad_mb = 16;
  u.message_mb = 8;
  u.weights_mb = 256;
  u.latency_us = 20;
  u.bandwidth_gbps = 200;
  u.tokens_per_microbatch = 8192;
  const ir::CostModel cli = sim::MakeCostModel(u);
  QCOMPARE(cost->stages_size(), 4);
  for (const ir::StageCost& s : cost->stages())
    QVERIFY(s.SerializeAsString() == cli.stages(0).SerializeAsString());
  QCOMPARE(cost->links_size(), 1);
  QCOMPARE(cost->links(0).bandwidth_bytes_per_s(), 25e9);  // 200 Gbit/s = 25 GB/s
  QCOMPARE(cost->links(0).latency_ns(), int64_t{20000});
  QCOMPARE(cost->tokens_per_microbatch(), uint64_t{8192});
}

void FlowTest::explorerSweep() {
  ExplorerModel model(MakePaciSimBackend());
  QSignalSpy ready(&model, &ExplorerModel::outcomeReady);
  model.setConfig(ExplorerConfig{});
  QVERIFY(ready.wait(30000));
  QSignalSpy swept(&model, &ExplorerModel::sweepReady);
  model.runSweep({1, 2, 4}, {2, 4});
  QVERIFY(swept.wait(60000));
  const SweepData& d = model.sweep();
  QCOMPARE(d.cells.size(), size_t{6});
  for (size_t ki = 0; ki < 3; ++ki) {
    for (size_t pi = 0; pi < 2; ++pi) {
      const SweepCell& cell = d.At(ki, pi);
      QVERIFY2(cell.ok, qPrintable(cell.error));
      const ExplorerConfig c = model.cellConfig(ki, pi);
      QCOMPARE(c.accum, d.ks[ki]);
      QCOMPARE(c.stages, d.ps[pi]);
      auto direct = sim::SimulateSpec(*SpecOf(c), *CostOf(*MakePaciSimBackend(), c, *SpecOf(c)));
      QVERIFY(direct.ok());
      QCOMPARE(cell.tokens_per_s, direct->tokens_per_s);
    }
  }
}

void FlowTest::replaySteps() {
  auto source = OpenStoreSource(db_.toStdString());
  QVERIFY(source.ok());
  auto run = LoadAndIndex(**source, ids_.measured, {});
  QVERIFY(run.ok());
  ReplayModel r;
  r.setTrace((*run)->index, (*run)->trace.memory);
  const int64_t end = (*run)->index->makespan();
  r.setSpeed(end / 95.0);  // the whole run in 95 wall ms: ten 10 ms steps reach the end
  int64_t last = -1;
  std::vector<int64_t> last_versions;
  for (int i = 0; i < 10; ++i) {
    r.step(10);
    QVERIFY(r.time() > last);
    last = r.time();
    for (size_t op : r.opsInFlight()) {
      const OpSpan& s = (*run)->index->op(op);
      QVERIFY(s.start <= r.time() && r.time() < s.end);
    }
    const auto v = r.latestVersion();
    QCOMPARE(v.size(), size_t{4});
    for (size_t s = 0; s < v.size() && !last_versions.empty(); ++s) QVERIFY(v[s] >= last_versions[s]);
    last_versions = v;
  }
  QCOMPARE(r.time(), end);
  QVERIFY(last_versions[0] > 0);  // PACI steps during the run
  const auto live = r.liveBytes();
  QVERIFY(*std::max_element(live.begin(), live.end()) > 0);
  QVERIFY(r.peakBytes() >= *std::max_element(live.begin(), live.end()));
}

void FlowTest::asyncLoadWithProgress() {
  RunLoader loader;
  QVERIFY(loader.openStore(db_));
  QSignalSpy loaded(&loader, &RunLoader::loaded);
  QSignalSpy progress(&loader, &RunLoader::progress);
  const int req = loader.load(ids_.flush);
  QVERIFY(loaded.wait(30000));
  QCOMPARE(loaded.first().at(0).toInt(), req);
  QVERIFY(progress.count() >= 1);
  auto run = loaded.first().at(1).value<std::shared_ptr<LoadedRun>>();
  QVERIFY(run && run->index->ops().size() > 0);
  QSignalSpy failed(&loader, &RunLoader::failed);
  loader.load(987654);
  QVERIFY(failed.wait(30000));
  qInfo("missing run: %s", qPrintable(failed.first().at(1).toString()));
}

void FlowTest::badFileIsAMessage() {
  const QString bad = dir_.filePath(QStringLiteral("not-a-store.db"));
  std::ofstream(bad.toStdString()) << "this is not a database\n";
  auto source = OpenStoreSource(bad.toStdString());
  QVERIFY(!source.ok());
  QVERIFY(!source.status().message().empty());
  qInfo("bad file: %s", source.status().message().c_str());
  auto missing = OpenStoreSource(dir_.filePath(QStringLiteral("missing.db")).toStdString());
  QVERIFY(!missing.ok());
  RunLoader loader;
  QSignalSpy failed(&loader, &RunLoader::failed);
  QVERIFY(!loader.openStore(bad));
  QCOMPARE(failed.count(), 1);
}

void FlowTest::lockedDatabaseIsAMessage() {
  // Another process holding an exclusive lock in rollback-journal mode blocks even readers.
  const QString locked = dir_.filePath(QStringLiteral("locked.db"));
  QVERIFY(guitest::WriteDemoStore(locked.toStdString()).ok());
  sqlite3* db = nullptr;
  QCOMPARE(sqlite3_open(locked.toUtf8().constData(), &db), SQLITE_OK);
  QCOMPARE(sqlite3_exec(db, "PRAGMA journal_mode=DELETE; BEGIN EXCLUSIVE;", nullptr, nullptr, nullptr),
           SQLITE_OK);
  QElapsedTimer t;
  t.start();
  auto source = OpenStoreSource(locked.toStdString());
  QString message;
  if (!source.ok()) {
    message = QString::fromStdString(source.status().message());
  } else {
    auto runs = (*source)->ListRuns();
    QVERIFY(!runs.ok());
    message = QString::fromStdString(runs.status().message());
  }
  qInfo("locked: %s (after %lld ms)", qPrintable(message), t.elapsed());
  QVERIFY(!message.isEmpty());
  QVERIFY(t.elapsed() < 15000);
  sqlite3_exec(db, "ROLLBACK;", nullptr, nullptr, nullptr);
  sqlite3_close(db);
}

void FlowTest::recordedTracesOpen() {
  // traces/ holds stores of an older schema: the viewer migrates a copy once and reads it.
  const QString copy = dir_.filePath(QStringLiteral("recorded.db"));
  QVERIFY(QFile::copy(QStringLiteral(PACI_TRACES_DIR "/paci-vs-flush-p2.db"), copy));
  QFile::setPermissions(copy, QFileDevice::ReadOwner | QFileDevice::WriteOwner);
  auto source = OpenStoreSource(copy.toStdString());
  QVERIFY2(source.ok(), source.status().message().c_str());
  auto runs = (*source)->ListRuns();
  QVERIFY(runs.ok());
  QCOMPARE(runs->size(), size_t{4});
  for (const RunSummary& r : *runs) {
    QVERIFY(r.lr.has_value());
    QCOMPARE(*r.seed, int64_t{1337});
    QCOMPARE(r.accum, 4u);
  }
  auto run = LoadAndIndex(**source, 1, {});
  QVERIFY2(run.ok(), run.status().message().c_str());
  QCOMPARE((*run)->index->ops().size(), size_t{3400});
}

void FlowTest::longPredictedRunIsReplayedIntoTheIndex() {
  // More than a million ops: kept by its IR in the store, re-simulated straight into the index.
  const std::string path = dir_.filePath(QStringLiteral("long.db")).toStdString();
  ir::PipelineSpec spec;
  spec.set_kind(ir::PACI);
  spec.set_stages(4);
  spec.set_accum(4);
  spec.set_total_microbatches(70000);
  auto schedule = GenerateSchedule(spec);
  QVERIFY(schedule.ok());
  sim::UniformCost u;
  u.jitter_cv = 0.1;
  const ir::CostModel cost = sim::MakeCostModel(u);
  int64_t id = 0, makespan = 0;
  {
    auto store = store::TraceStore::Open(path);
    QVERIFY(store.ok());
    store::RunInfo info;
    info.schedule = *schedule;
    info.cost_model = cost;
    auto writer = store->BeginRun(info, store::WriterOptions{.replay_above_ops = store::kReplayAboveOps});
    QVERIFY(writer.ok());
    sim::SimulationOptions options;
    options.sink = &*writer;
    auto r = sim::Simulate(*schedule, cost, options);
    QVERIFY(r.ok());
    makespan = r->makespan_ns;
    QVERIFY(writer->Finish(store::RunStatus::kComplete).ok());
    id = writer->run_id();
  }
  auto source = OpenStoreSource(path);
  QVERIFY(source.ok());
  auto runs = (*source)->ListRuns();
  QVERIFY(runs.ok());
  QVERIFY(runs->front().replayed);
  QVERIFY(runs->front().op_count > 1000000);
  auto run = LoadAndIndex(**source, id, {});
  QVERIFY2(run.ok(), run.status().message().c_str());
  QVERIFY((*run)->trace.ops.empty());  // indexed while read: no TraceEvent copies kept
  QCOMPARE(static_cast<int64_t>((*run)->index->ops().size()), runs->front().op_count);
  QCOMPARE((*run)->index->makespan(), makespan);
}

QTEST_GUILESS_MAIN(FlowTest)
#include "tst_flow.moc"
