// The view models without widgets or a simulator: TraceIndex range queries, TimelineModel boxes,
// hit testing and dependencies, RunListModel under QAbstractItemModelTester with its filter,
// ComparisonModel residuals and errors, ReplayModel stepping, CurveModel series.
// Traces are built from a real schedule (sched/) with synthetic times, so op ids and send/receive
// pairs are the real ones.
#include <QAbstractItemModelTester>
#include <QtTest>
#include <cmath>

#include "gui/model/comparison_model.h"
#include "gui/model/curve_model.h"
#include "gui/model/replay_model.h"
#include "gui/model/run_list_model.h"
#include "gui/model/timeline_model.h"
#include "sched/expanded_schedule.h"
#include "sched/op_messages.h"
#include "sched/schedule_generator.h"

using namespace paci;
using namespace paci::gui;

namespace {

// Every op of a GPipe P x M schedule laid out back to back per stage: op k of a stage starts at
// 10k * scale + shift and lasts round(8 * scale). Not a feasible timing; the models do not care.
std::vector<ir::TraceEvent> SyntheticTrace(uint32_t P, uint32_t M, double scale = 1,
                                           int64_t shift = 0) {
  ir::PipelineSpec spec;
  spec.set_kind(ir::GPIPE);
  spec.set_stages(P);
  spec.set_microbatches_per_iteration(M);
  auto schedule = GenerateSchedule(spec);
  if (!schedule.ok()) qFatal("%s", schedule.status().message().c_str());
  std::vector<ir::TraceEvent> out;
  for (const auto& stage : ExpandSchedule(*schedule)) {
    int64_t k = 0;
    for (const PlainOp& op : stage) {
      ir::TraceEvent e;
      e.set_op_id(op.id);
      e.set_stage(op.stage);
      e.set_kind(op.kind);
      e.set_micro_batch(op.micro_batch);
      e.set_chunk(op.chunk);
      e.set_start_ns(shift + static_cast<int64_t>(10 * k * scale));
      e.set_end_ns(e.start_ns() + std::llround(8 * scale));
      e.set_lane(IsSend(op.kind) ? ir::LANE_SEND : IsRecv(op.kind) ? ir::LANE_RECV : ir::LANE_COMPUTE);
      e.set_weight_version(IsCompute(op.kind) ? k / 4 : -1);
      e.set_live_bytes(100 * (k + 1));
      out.push_back(e);
      ++k;
    }
  }
  return out;
}

RunTrace Trace(int64_t id, RunKind kind, std::vector<ir::TraceEvent> ops, uint32_t P) {
  RunTrace t;
  t.summary.id = id;
  t.summary.kind = kind;
  t.spec.set_stages(P);
  t.spec.set_kind(ir::GPIPE);
  t.ops = std::move(ops);
  return t;
}

}  // namespace

class ModelsTest : public QObject {
  Q_OBJECT
 private slots:
  void traceIndexVisible();
  void timelineBoxesAndHitTest();
  void timelineLevelOfDetail();
  void busyCoverageOfDenseRows();
  void indexBuiltWhileLoading();
  void indexPlacedWhileLoading();
  void dependencies();
  void runListModel();
  void comparison();
  void replaySteps();
  void curves();
};

void ModelsTest::traceIndexVisible() {
  auto ix = TraceIndex::Build(SyntheticTrace(2, 4, 1, 1000), 2);
  QCOMPARE(ix.offset_ns(), 1000);  // shifted to start at 0
  QCOMPARE(ix.stages(), 2u);
  // Brute force is the oracle for the binary-searched range.
  for (double t0 : {0.0, 15.0, 40.0, 95.0}) {
    const double t1 = t0 + 25;
    for (uint32_t s = 0; s < 2; ++s) {
      for (int lane = 0; lane < kLanesPerStage; ++lane) {
        const auto [b, e] = ix.Row(s, static_cast<ir::Lane>(lane));
        const auto [lo, hi] = ix.Visible(s, static_cast<ir::Lane>(lane), t0, t1);
        for (size_t i = b; i < e; ++i) {
          const bool hits = ix.op(i).end >= t0 && ix.op(i).start <= t1;
          if (hits) QVERIFY2(i >= lo && i < hi, "an intersecting op fell outside Visible()");
        }
      }
    }
  }
}

void ModelsTest::timelineBoxesAndHitTest() {
  auto ix = std::make_shared<const TraceIndex>(TraceIndex::Build(SyntheticTrace(2, 2), 2));
  TimelineModel m(ix, 1);
  TimeAxis axis;
  axis.extent_ns = ix->makespan();
  axis.width_px = 1000;
  axis.ShowRange(0, 100);  // 10 px per ns
  size_t boxes = 0;
  m.ForEachVisible(axis, [&](const TimelineModel::Box& b) {
    ++boxes;
    const OpSpan& s = ix->op(b.index);
    QVERIFY(std::abs(b.rect.left() - 10 * s.start) < 1e-6);
    QVERIFY(m.LaneRect(s.stage, s.lane, 1000).contains(b.rect.center()));
  });
  QVERIFY(boxes > 0);
  // Click in the middle of the first compute op of stage 1.
  const auto [b, e] = ix->Row(1, ir::LANE_COMPUTE);
  QVERIFY(e > b);
  const OpSpan& first = ix->op(b);
  const QRectF lane = m.LaneRect(1, ir::LANE_COMPUTE, 1000);
  const auto hit = m.HitTest(QPointF(axis.ToX((first.start + first.end) / 2.0), lane.center().y()), axis);
  QVERIFY(hit.has_value());
  QCOMPARE(ix->op(*hit).op_id, first.op_id);
  QVERIFY(m.ToolTip(*hit).contains(QStringLiteral("op %1").arg(first.op_id)));
  QVERIFY(!m.HitTest(QPointF(5, m.Height() + 50), axis).has_value());
}

void ModelsTest::timelineLevelOfDetail() {
  // 4 stages x many micro-batches squeezed into 100 px: boxes are bounded by pixels, not ops.
  auto ix = std::make_shared<const TraceIndex>(TraceIndex::Build(SyntheticTrace(4, 512), 4));
  TimelineModel m(ix, 1);
  TimeAxis axis;
  axis.Fit(ix->makespan(), 100);
  size_t boxes = 0;
  m.ForEachVisible(axis, [&](const TimelineModel::Box&) { ++boxes; });
  qInfo("%zu ops drawn as %zu boxes in 100 px", ix->ops().size(), boxes);
  QCOMPARE_LE(boxes, size_t{4 * kLanesPerStage * 101});
  QVERIFY(ix->ops().size() > 10 * boxes);
}

void ModelsTest::busyCoverageOfDenseRows() {
  // Ops of 8 ns every 10 ns: a dense row is busy 80 % of every interval spanning whole periods.
  auto ix = std::make_shared<const TraceIndex>(TraceIndex::Build(SyntheticTrace(4, 512), 4));
  const auto [b, e] = ix->Row(1, ir::LANE_COMPUTE);
  double brute = 0;
  const double t0 = 1003, t1 = 2507;
  for (size_t i = b; i < e; ++i) {
    const OpSpan& s = ix->op(i);
    brute += std::max(0.0, std::min<double>(s.end, t1) - std::max<double>(s.start, t0));
  }
  QVERIFY(std::abs(ix->BusyNs(1, ir::LANE_COMPUTE, t0, t1) - brute) < 1e-6);
  QCOMPARE(ix->BusyNs(1, ir::LANE_COMPUTE, t1, t0), 0.0);
  const std::vector<float> fractions = ix->BusyFractions(1, ir::LANE_COMPUTE, t0, 37, 40);
  for (size_t i = 0; i < fractions.size(); ++i) {
    const double a = t0 + 37.0 * i;
    QVERIFY(std::abs(fractions[i] - ix->BusyNs(1, ir::LANE_COMPUTE, a, a + 37) / 37) < 1e-5);
  }

  TimelineModel m(ix, 1);
  TimeAxis axis;
  axis.Fit(ix->makespan(), 100);
  size_t boxes = 0, dense_rows = 0;
  double busy = 0;
  m.ForEachVisible(axis, [&](const TimelineModel::Box&) { ++boxes; },
                   [&](const TimelineModel::Coverage& c) {
                     ++dense_rows;
                     QCOMPARE(c.busy.size(), size_t{100});
                     for (float f : c.busy) QVERIFY(f >= 0 && f <= 1);
                     if (c.stage == 1 && c.lane == ir::LANE_COMPUTE) {
                       for (float f : c.busy) busy += f * axis.ns_per_px;
                     }
                   });
  QVERIFY(dense_rows >= 4);  // every compute row at least
  const auto [cb, ce] = ix->Row(1, ir::LANE_COMPUTE);
  double total = 0;
  for (size_t i = cb; i < ce; ++i) total += ix->op(i).end - ix->op(i).start;
  QVERIFY(std::abs(busy - total) / total < 0.01);
  // Zoomed in to a few ops, the same rows are boxes again.
  axis.ShowRange(0, 100);
  size_t coverage_rows = 0;
  m.ForEachVisible(axis, [&](const TimelineModel::Box&) {}, [&](const TimelineModel::Coverage&) { ++coverage_rows; });
  QCOMPARE(coverage_rows, size_t{0});
}

void ModelsTest::indexBuiltWhileLoading() {
  // A run indexed while loading (TraceIndexBuilder, no events kept) is the same index and
  // compares like the run with its events.
  const auto events = SyntheticTrace(3, 8, 1, 700);
  TraceIndexBuilder builder;
  for (const auto& e : events) builder.OnOp(e);
  auto collected = std::move(builder).Finish();
  QVERIFY(collected.ok());
  auto streamed = std::make_shared<const TraceIndex>(std::move(*collected));
  const TraceIndex built = TraceIndex::Build(events, 3);
  QCOMPARE(streamed->ops().size(), built.ops().size());
  QCOMPARE(streamed->offset_ns(), built.offset_ns());
  for (size_t i = 0; i < built.ops().size(); ++i) {
    QCOMPARE(streamed->op(i).op_id, built.op(i).op_id);
    QCOMPARE(streamed->op(i).start, built.op(i).start);
  }
  const auto back = streamed->Events();
  QCOMPARE(back.size(), events.size());
  RunTrace a = Trace(1, RunKind::kPredicted, {}, 3);
  a.index = streamed;
  RunTrace b = Trace(2, RunKind::kMeasured, events, 3);
  ComparisonModel c(a, b);
  QVERIFY(c.comparison().same_ops);
  QCOMPARE(c.comparison().summary.max_abs_start_ns, 0.0);
}

void ModelsTest::indexPlacedWhileLoading() {
  // Ops placed straight into their rows (row sizes known, as counted from a schedule IR) give the
  // same index as collecting them, whether they arrive in order or not (reversed rows are too far
  // out of order for the insertion sort and take the full sort); sizes that do not match
  // the ops fall back to collecting; an op on an impossible stage fails with its stage named.
  const auto events = SyntheticTrace(3, 64, 1, 700);
  const TraceIndex built = TraceIndex::Build(events, 3);
  std::vector<size_t> sizes(3 * kLanesPerStage, 0);
  for (const auto& e : events) ++sizes[e.stage() * kLanesPerStage + e.lane()];
  std::vector<size_t> wrong = sizes;
  wrong[0] -= 1;
  wrong[1] += 1;
  std::vector<ir::TraceEvent> reversed = events;
  std::reverse(reversed.begin(), reversed.end());
  using Case = std::pair<const std::vector<ir::TraceEvent>*, std::vector<size_t>>;
  for (const auto& [input, rows] : {Case{&events, sizes}, Case{&reversed, sizes}, Case{&events, wrong}}) {
    TraceIndexBuilder builder(3, rows);
    for (const auto& e : *input) builder.OnOp(e);
    auto placed = std::move(builder).Finish();
    QVERIFY(placed.ok());
    QCOMPARE(placed->ops().size(), built.ops().size());
    QCOMPARE(placed->offset_ns(), built.offset_ns());
    QCOMPARE(placed->makespan(), built.makespan());
    for (size_t i = 0; i < built.ops().size(); ++i) {
      QCOMPARE(placed->op(i).op_id, built.op(i).op_id);
      QCOMPARE(placed->op(i).start, built.op(i).start);
      QCOMPARE(placed->FindOpId(built.op(i).op_id), static_cast<int64_t>(i));
    }
    for (uint32_t s = 0; s < 3; ++s) {
      QCOMPARE(placed->BusyNs(s, ir::LANE_COMPUTE, 5, 300), built.BusyNs(s, ir::LANE_COMPUTE, 5, 300));
      QCOMPARE(placed->Visible(s, ir::LANE_RECV, 40, 90), built.Visible(s, ir::LANE_RECV, 40, 90));
    }
  }
  TraceIndexBuilder hostile(3, sizes, /*max_stages=*/16);
  ir::TraceEvent far = events.front();
  far.set_stage(1u << 30);
  hostile.OnOp(far);
  auto refused = std::move(hostile).Finish();
  QVERIFY(!refused.ok());
  QVERIFY(refused.status().message().find("stage 1073741824") != std::string::npos);
}

void ModelsTest::dependencies() {
  auto ix = std::make_shared<const TraceIndex>(TraceIndex::Build(SyntheticTrace(3, 2), 3));
  TimelineModel m(ix, 1);
  // Forward of micro-batch 1 on the middle stage: waits for stage 0's F1 through RECV/SEND,
  // and stage 2's F1 waits for it.
  int64_t f1 = -1;
  for (size_t i = 0; i < ix->ops().size(); ++i) {
    const OpSpan& s = ix->op(i);
    if (s.stage == 1 && s.kind == ir::FORWARD && s.micro_batch == 1) f1 = i;
  }
  QVERIFY(f1 >= 0);
  m.Select(f1);
  auto has = [&](const std::vector<size_t>& v, uint32_t stage, ir::OpKind kind) {
    for (size_t i : v) {
      if (ix->op(i).stage == stage && ix->op(i).kind == kind && ix->op(i).micro_batch == 1) return true;
    }
    return false;
  };
  QVERIFY(has(m.edges().before, 1, ir::RECV_ACTIVATION));
  QVERIFY(has(m.edges().before, 0, ir::SEND_ACTIVATION));
  QVERIFY(has(m.edges().before, 0, ir::FORWARD));
  QVERIFY(has(m.edges().after, 1, ir::SEND_ACTIVATION));
  QVERIFY(has(m.edges().after, 2, ir::RECV_ACTIVATION));
  QVERIFY(has(m.edges().after, 2, ir::FORWARD));
  m.Select(std::nullopt);
  QVERIFY(m.edges().before.empty());
}

void ModelsTest::runListModel() {
  RunListModel model;
  QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
  RunFilterModel filter;
  filter.setSourceModel(&model);
  QAbstractItemModelTester filter_tester(&filter, QAbstractItemModelTester::FailureReportingMode::QtTest);
  std::vector<RunSummary> runs(4);
  const char* schedules[] = {"paci", "paci", "1f1b-flush", "gpipe"};
  for (int i = 0; i < 4; ++i) {
    runs[i].id = i + 1;
    runs[i].schedule = schedules[i];
    runs[i].stages = i < 2 ? 4 : 8;
    runs[i].accum = static_cast<uint32_t>(i + 1);
    runs[i].kind = i == 1 ? RunKind::kMeasured : RunKind::kPredicted;
  }
  model.setRuns(runs);
  QCOMPARE(model.rowCount(), 4);
  QCOMPARE(model.data(model.index(2, RunListModel::kSchedule)).toString(), QStringLiteral("1f1b-flush"));
  QCOMPARE(model.data(model.index(1, RunListModel::kKind)).toString(), QStringLiteral("measured"));
  runs[3].microbatches = 0;  // "does not apply": blank on screen, 0 for sorting
  QCOMPARE(model.data(model.index(3, RunListModel::kMicrobatches)).toString(), QString());
  QCOMPARE(model.data(model.index(3, RunListModel::kMicrobatches), Qt::EditRole).toUInt(), 0u);
  filter.setSchedule(QStringLiteral("paci"));
  QCOMPARE(filter.rowCount(), 2);
  filter.setKind(RunKind::kMeasured);
  QCOMPARE(filter.rowCount(), 1);
  QCOMPARE(filter.index(0, 0).data(RunListModel::RunIdRole).toLongLong(), 2);
  filter.setKind(std::nullopt);
  filter.setSchedule({});
  filter.setStages(8u);
  QCOMPARE(filter.rowCount(), 2);
  filter.setAccum(4u);
  QCOMPARE(filter.rowCount(), 1);
  filter.setStages(std::nullopt);
  filter.setAccum(std::nullopt);
  filter.sort(RunListModel::kAccum, Qt::DescendingOrder);
  QCOMPARE(filter.index(0, 0).data(RunListModel::RunIdRole).toLongLong(), 4);
  model.setRuns({});
  QCOMPARE(filter.rowCount(), 0);
}

void ModelsTest::comparison() {
  // B's ops last 9 ns instead of 8 and start 10 % later: busy error of A against B is
  // 8/9 - 1 = -11.1 %, makespan error about 1/1.1 - 1 = -9.1 %.
  RunTrace a = Trace(1, RunKind::kPredicted, SyntheticTrace(2, 4), 2);
  RunTrace b = Trace(2, RunKind::kMeasured, SyntheticTrace(2, 4, 1.1, 5000), 2);
  QVERIFY(PredictionShouldComeFirst(b.summary, a.summary));
  ComparisonModel c(a, b);
  QVERIFY(c.comparison().same_ops);
  QVERIFY(std::abs(c.makespanErrorPct() - (1 / 1.1 - 1) * 100) < 0.5);
  QCOMPARE(c.stageErrors().size(), size_t{2});
  for (const StageError& e : c.stageErrors()) {
    qInfo("stage %u: busy A %lld B %lld error %.2f %%", e.stage, (long long)e.busy_a_ns,
          (long long)e.busy_b_ns, e.busy_error_pct);
    QVERIFY(std::abs(e.busy_error_pct - (8.0 / 9 - 1) * 100) < 1e-6);
    QVERIFY(e.ops > 0);
  }
  const uint64_t id = a.ops.back().op_id();
  QVERIFY(c.residual(id) != nullptr);
  QVERIFY(c.residual(id)->duration_residual_ns < 0);
  QCOMPARE(c.extentNs(), c.timelineB().index().makespan());
  QVERIFY(c.headline().contains(QStringLiteral("error")));
}

void ModelsTest::replaySteps() {
  auto ix = std::make_shared<const TraceIndex>(TraceIndex::Build(SyntheticTrace(2, 2), 2));
  ReplayModel r;
  QSignalSpy moved(&r, &ReplayModel::timeChanged);
  r.setTrace(ix, {});
  QCOMPARE(r.time(), 0);
  r.setSpeed(2.0);  // 2 ns per wall millisecond
  r.step(2.5);      // -> 5 ns: inside every stage's first op [0, 8]
  QCOMPARE(r.time(), 5);
  const auto in_flight = r.opsInFlight();
  QCOMPARE(in_flight.size(), size_t{2});
  for (size_t i : in_flight) QVERIFY(ix->op(i).start <= 5 && 5 < ix->op(i).end);
  QCOMPARE(r.liveBytes(), (std::vector<uint64_t>{0, 0}));  // nothing has ended yet
  r.step(5);        // -> 15: first op ended (live 100), second running
  QCOMPARE(r.time(), 15);
  QCOMPARE(r.liveBytes(), (std::vector<uint64_t>{100, 100}));
  r.setTime(ix->makespan() + 1000);
  QCOMPARE(r.time(), ix->makespan());
  const auto versions = r.latestVersion();
  QCOMPARE(versions.size(), size_t{2});
  QVERIFY(versions[0] >= 1);
  QVERIFY(moved.count() >= 3);
  r.step(10);  // at the end: stays, stops
  QVERIFY(!r.playing());
}

void ModelsTest::curves() {
  CurveModel m;
  RunSummary s;
  s.id = 3;
  s.name = "paci";
  std::vector<ir::UpdateMetric> ups;
  for (int u = 1; u <= 5; ++u) {
    ir::UpdateMetric x;
    x.set_update(u);
    x.set_loss(5.0 - u);
    x.set_val_loss(u == 5 ? 0.5 : std::nan(""));
    x.set_wall_ns(1000000000LL * (u + 10));
    ups.push_back(x);
  }
  m.addRun(s, ups);
  const auto by_update = m.series(CurveAxis::kUpdate);
  QCOMPARE(by_update.size(), size_t{1});
  QCOMPARE(by_update[0].loss.size(), 5);
  QCOMPARE(by_update[0].val_loss.size(), 1);
  QCOMPARE(by_update[0].loss.front(), QPointF(1, 4));
  const auto by_time = m.series(CurveAxis::kWallSeconds);
  QCOMPARE(by_time[0].loss.back(), QPointF(4, 0));  // seconds since the first update record
  QCOMPARE(m.timeToTarget(0, 2.5, CurveAxis::kUpdate).value(), 3.0);
  QVERIFY(!m.timeToTarget(0, -1, CurveAxis::kUpdate).has_value());
}

QTEST_GUILESS_MAIN(ModelsTest)
#include "tst_models.moc"
