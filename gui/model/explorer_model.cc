#include "gui/model/explorer_model.h"

#include <QFutureWatcher>
#include <QStringList>
#include <QtConcurrent/QtConcurrentMap>
#include <QtConcurrent/QtConcurrentRun>

namespace paci::gui {
namespace {

struct SimJob {
  std::shared_ptr<const SimOutcome> outcome;
  QString error;
};

SimJob RunJob(const std::shared_ptr<const SimBackend>& backend, const ExplorerConfig& c) {
  Result<ir::PipelineSpec> spec = SpecOf(c);
  if (!spec.ok()) return {nullptr, QString::fromStdString(spec.status().message())};
  Result<ir::CostModel> cost = CostOf(*backend, c, *spec);
  if (!cost.ok()) return {nullptr, QString::fromStdString(cost.status().message())};
  auto r = backend->Simulate(*spec, *cost);
  if (!r.ok()) return {nullptr, QString::fromStdString(r.status().ToString())};
  return {std::make_shared<const SimOutcome>(std::move(r).value()), {}};
}

}  // namespace

ExplorerConfig SweepBase(ExplorerConfig c) {
  c.accum = 0;
  c.stages = 0;
  return c;
}

QString ExplorerModel::sweepStaleReason() const {
  if (!sweepStale()) return {};
  const ExplorerConfig a = SweepBase(config_), &b = sweep_.base;
  QStringList what;
  if (a.kind != b.kind) what << tr("schedule");
  if (a.chunks != b.chunks) what << tr("chunks V");
  if (a.total_microbatches != b.total_microbatches) what << tr("run length");
  ExplorerConfig costs_a = a, costs_b = b;  // everything else is the costs
  for (ExplorerConfig* c : {&costs_a, &costs_b}) {
    c->kind = ir::PACI;
    c->chunks = 1;
    c->total_microbatches = 0;
  }
  if (costs_a != costs_b) what << tr("costs");
  return what.join(QStringLiteral(", "));
}

double SweepCell::Value(SweepMetric m) const {
  switch (m) {
    case SweepMetric::kThroughput: return steady_tokens_per_s;
    case SweepMetric::kBubble: return steady_bubble_fraction;
    case SweepMetric::kMaxDrift: return max_drift;
  }
  return 0;
}

ExplorerModel::ExplorerModel(std::shared_ptr<const SimBackend> backend, QObject* parent)
    : QObject(parent), backend_(std::move(backend)) {}

void ExplorerModel::setConfig(const ExplorerConfig& config) {
  if (config == config_ && (outcome_ || !error_.isEmpty() || busy())) return;
  config_ = config;
  simulate();
}

void ExplorerModel::setAccum(uint32_t k) {
  ExplorerConfig c = config_;
  c.accum = k;
  setConfig(c);
}

void ExplorerModel::setStages(uint32_t p) {
  ExplorerConfig c = config_;
  c.stages = p;
  setConfig(c);
}

void ExplorerModel::setPending(int delta) {
  const bool was = busy();
  pending_ += delta;
  if (was != busy()) emit busyChanged(busy());
}

void ExplorerModel::simulate() {
  const uint64_t gen = ++generation_;
  if (!backend_) {
    error_ = tr("No simulator was given to the explorer.");
    emit failed(error_);
    return;
  }
  auto* watcher = new QFutureWatcher<SimJob>(this);
  connect(watcher, &QFutureWatcher<SimJob>::finished, this, [this, watcher, gen] {
    watcher->deleteLater();
    setPending(-1);
    if (gen != generation_) return;  // the user has moved on; a newer job is coming
    SimJob job = watcher->result();
    outcome_ = job.outcome;
    error_ = job.error;
    if (outcome_)
      emit outcomeReady();
    else
      emit failed(error_);
  });
  setPending(+1);
  watcher->setFuture(QtConcurrent::run(RunJob, backend_, config_));
}

ExplorerConfig ExplorerModel::cellConfig(size_t ki, size_t pi) const {
  ExplorerConfig c = config_;
  if (ki < sweep_.ks.size()) c.accum = sweep_.ks[ki];
  if (pi < sweep_.ps.size()) c.stages = sweep_.ps[pi];
  return c;
}

void ExplorerModel::runSweep(std::vector<uint32_t> ks, std::vector<uint32_t> ps) {
  if (!backend_) return;
  const uint64_t gen = ++sweep_generation_;
  const ExplorerConfig base = SweepBase(config_);
  QList<ExplorerConfig> configs;
  for (uint32_t k : ks) {
    for (uint32_t p : ps) {
      ExplorerConfig c = config_;
      c.accum = k;
      c.stages = p;
      configs.push_back(c);
    }
  }
  auto backend = backend_;
  auto cell = [backend](const ExplorerConfig& c) {
    SweepCell out;
    SimJob job = RunJob(backend, c);
    if (!job.outcome) {
      out.error = job.error;
      return out;
    }
    out.ok = true;
    out.tokens_per_s = job.outcome->cards.tokens_per_s;
    out.bubble_fraction = job.outcome->cards.bubble_fraction;
    const MetricCards& cards = job.outcome->cards;
    const bool steady = cards.steady_updates > 0;  // else updates take no time: the run's figures
    out.steady_tokens_per_s = steady ? cards.steady_tokens_per_s : cards.tokens_per_s;
    out.steady_bubble_fraction = steady ? cards.steady_bubble_fraction : cards.bubble_fraction;
    out.max_drift = job.outcome->cards.max_drift;
    return out;
  };
  auto* watcher = new QFutureWatcher<SweepCell>(this);
  connect(watcher, &QFutureWatcher<SweepCell>::finished, this,
          [this, watcher, gen, base, ks = std::move(ks), ps = std::move(ps)] {
            watcher->deleteLater();
            setPending(-1);
            if (gen != sweep_generation_) return;
            sweep_.ks = ks;
            sweep_.ps = ps;
            sweep_.base = base;
            const QList<SweepCell> cells = watcher->future().results();
            sweep_.cells.assign(cells.begin(), cells.end());
            emit sweepReady();
          });
  setPending(+1);
  watcher->setFuture(QtConcurrent::mapped(configs, std::function<SweepCell(const ExplorerConfig&)>(cell)));
}

}  // namespace paci::gui
