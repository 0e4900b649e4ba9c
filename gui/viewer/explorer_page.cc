#include "gui/viewer/explorer_page.h"

#include <QComboBox>
#include <algorithm>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QSplitter>
#include <QVBoxLayout>

#include "gui/model/op_style.h"
#include "gui/viewer/heatmap_widget.h"
#include "gui/viewer/timeline_widget.h"
#include "proto/ir_names.h"

namespace paci::gui {
namespace {

std::vector<uint32_t> ParseList(const QString& text) {
  std::vector<uint32_t> out;
  for (const QString& part : text.split(',', Qt::SkipEmptyParts)) {
    bool ok = false;
    const uint v = part.trimmed().toUInt(&ok);
    if (ok && v > 0) out.push_back(v);
  }
  return out;
}

QWidget* Card(const QString& title, QLabel** value) {
  *value = new QLabel(QStringLiteral("–"));
  (*value)->setStyleSheet(QStringLiteral("font-size: 16pt; font-weight: bold;"));
  auto* box = new QGroupBox(title);
  auto* l = new QVBoxLayout(box);
  l->addWidget(*value);
  return box;
}

}  // namespace

ExplorerPage::ExplorerPage(std::shared_ptr<const SimBackend> backend, QWidget* parent)
    : QWidget(parent), model_(std::move(backend)) {
  timeline_ = new TimelineWidget;
  heatmap_ = new HeatmapWidget;
  // The timeline keeps the height its stage rows need and scrolls when the pane is smaller, so
  // no stage is cut off; the heatmap takes what is left.
  timeline_scroll_ = new QScrollArea;
  timeline_scroll_->setWidget(timeline_);
  timeline_scroll_->setWidgetResizable(true);
  timeline_scroll_->setFrameShape(QFrame::NoFrame);
  splitter_ = new QSplitter(Qt::Vertical);
  splitter_->addWidget(timeline_scroll_);
  splitter_->addWidget(heatmap_);
  splitter_->setStretchFactor(0, 3);
  splitter_->setStretchFactor(1, 2);
  auto* right = splitter_;
  auto* body = new QHBoxLayout;
  body->addWidget(buildControls());
  body->addWidget(right, 1);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(buildCards());
  layout->addLayout(body, 1);

  connect(&model_, &ExplorerModel::outcomeReady, this, &ExplorerPage::showOutcome);
  connect(&model_, &ExplorerModel::failed, this,
          [this](const QString& m) { status_->setText(tr("Simulation failed: %1").arg(m)); });
  connect(&model_, &ExplorerModel::busyChanged, this, [this](bool busy) {
    if (busy) status_->setText(tr("Simulating…"));
  });
  connect(&model_, &ExplorerModel::sweepReady, this, [this] {
    status_->setText(outcome_status_);  // the sweep's "Simulating…" is over
    heatmap_->setData(model_.sweep(), static_cast<SweepMetric>(metric_->currentIndex()));
    heatmap_->setCurrent(model_.config().accum, model_.config().stages);
  });
  connect(heatmap_, &HeatmapWidget::cellClicked, this,
          [this](int ki, int pi) { setConfig(model_.cellConfig(ki, pi)); });
  connect(metric_, &QComboBox::currentIndexChanged, this,
          [this](int i) { heatmap_->setMetric(static_cast<SweepMetric>(i)); });
  // Show the default configuration at once, not empty cards until the first input changes.
  model_.setConfig(readControls());
}

QWidget* ExplorerPage::buildControls() {
  schedule_ = new QComboBox;
  for (const auto& n : AllScheduleNames()) schedule_->addItem(QString::fromStdString(n));
  auto spin = [](int lo, int hi, int v) {
    auto* s = new QSpinBox;
    s->setRange(lo, hi);
    s->setValue(v);
    return s;
  };
  auto dspin = [](double v) {
    auto* s = new QDoubleSpinBox;
    s->setRange(0.001, 10000);
    s->setDecimals(3);
    s->setSuffix(QStringLiteral(" ms"));
    s->setValue(v);
    return s;
  };
  const ExplorerConfig c;
  p_ = spin(1, 64, c.stages);
  k_ = spin(1, 256, c.accum);
  k_->setToolTip(tr("Micro-batches per optimizer update, for every schedule (a flush schedule's M)"));
  v_ = spin(1, 8, c.chunks);
  length_ = spin(0, 1 << 20, 0);
  length_->setSpecialValueText(tr("default"));
  fwd_ = dspin(c.forward_ms);
  bwd_ = dspin(c.backward_ms);
  opt_ = dspin(c.optimizer_ms);
  scale_ = new QLineEdit;
  scale_->setPlaceholderText(tr("e.g. 1,1,1.5,1"));
  sweep_ks_ = new QLineEdit(QStringLiteral("1,2,4,8,16"));
  sweep_ps_ = new QLineEdit(QStringLiteral("2,4,8"));
  metric_ = new QComboBox;
  metric_->addItems({tr("throughput"), tr("bubble"), tr("max drift")});
  auto* sweep = new QPushButton(tr("Sweep K x P"));
  schedule_->setCurrentText(QString::fromStdString(ScheduleName(c.kind)));

  auto* box = new QGroupBox(tr("Configuration"));
  auto* form = new QFormLayout(box);
  form->addRow(tr("Schedule"), schedule_);
  form->addRow(tr("Stages P"), p_);
  form->addRow(tr("Per update K"), k_);
  form->addRow(tr("Chunks V"), v_);
  form->addRow(tr("Run length"), length_);
  form->addRow(tr("Forward (model)"), fwd_);
  form->addRow(tr("Backward (model)"), bwd_);
  form->addRow(tr("Optimizer (stage)"), opt_);
  form->addRow(tr("Stage scale"), scale_);
  form->addRow(tr("Sweep K"), sweep_ks_);
  form->addRow(tr("Sweep P"), sweep_ps_);
  form->addRow(tr("Heatmap"), metric_);
  form->addRow(sweep);
  box->setMaximumWidth(300);

  auto changed = [this] {
    if (!syncing_) model_.setConfig(readControls());
  };
  connect(schedule_, &QComboBox::currentIndexChanged, this, changed);
  for (QSpinBox* s : {p_, k_, v_, length_}) connect(s, &QSpinBox::valueChanged, this, changed);
  for (QDoubleSpinBox* s : {fwd_, bwd_, opt_}) {
    connect(s, &QDoubleSpinBox::valueChanged, this, changed);
  }
  connect(scale_, &QLineEdit::editingFinished, this, changed);
  connect(sweep, &QPushButton::clicked, this, &ExplorerPage::startSweep);
  return box;
}

QWidget* ExplorerPage::buildCards() {
  auto* row = new QWidget;
  auto* l = new QHBoxLayout(row);
  l->setContentsMargins(0, 0, 0, 0);
  l->addWidget(Card(tr("Throughput"), &tokens_));
  l->addWidget(Card(tr("Bubble"), &bubble_));
  l->addWidget(Card(tr("Makespan"), &makespan_));
  l->addWidget(Card(tr("Drift max / mean"), &drift_));
  l->addWidget(Card(tr("Peak memory per stage"), &peak_), 2);
  peak_->setStyleSheet(QStringLiteral("font-size: 10pt; font-weight: bold;"));
  peak_->setWordWrap(true);
  status_ = new QLabel;
  status_->setWordWrap(true);
  status_->setMaximumWidth(260);
  l->addWidget(status_);
  return row;
}

ExplorerConfig ExplorerPage::readControls() const {
  ExplorerConfig c = model_.config();
  c.kind = ParseScheduleName(schedule_->currentText().toStdString()).value_or(ir::PACI);
  c.stages = p_->value();
  c.accum = k_->value();
  c.chunks = v_->value();
  c.total_microbatches = length_->value();
  c.forward_ms = fwd_->value();
  c.backward_ms = bwd_->value();
  c.optimizer_ms = opt_->value();
  c.stage_scale.clear();
  for (const QString& part : scale_->text().split(',', Qt::SkipEmptyParts)) {
    c.stage_scale.push_back(part.trimmed().toDouble());
  }
  return c;
}

void ExplorerPage::setConfig(const ExplorerConfig& c) {
  syncing_ = true;
  schedule_->setCurrentText(QString::fromStdString(ScheduleName(c.kind)));
  p_->setValue(c.stages);
  k_->setValue(c.accum);
  v_->setValue(c.chunks);
  length_->setValue(static_cast<int>(c.total_microbatches));
  fwd_->setValue(c.forward_ms);
  bwd_->setValue(c.backward_ms);
  opt_->setValue(c.optimizer_ms);
  syncing_ = false;
  model_.setConfig(readControls());
  heatmap_->setCurrent(c.accum, c.stages);
}

void ExplorerPage::startSweep() {
  model_.runSweep(ParseList(sweep_ks_->text()), ParseList(sweep_ps_->text()));
}

void ExplorerPage::showOutcome() {
  const auto outcome = model_.outcome();
  if (!outcome) return;
  const MetricCards& c = outcome->cards;
  tokens_->setText(QStringLiteral("%1 tok/s").arg(c.tokens_per_s, 0, 'f', 0));
  bubble_->setText(QStringLiteral("%1 %").arg(100 * c.bubble_fraction, 0, 'f', 1));
  makespan_->setText(QStringLiteral("%1 ms").arg(c.makespan_ns / 1e6, 0, 'f', 2));
  drift_->setText(QStringLiteral("%1 / %2").arg(c.max_drift, 0, 'f', 0).arg(c.mean_drift, 0, 'f', 2));
  QStringList peaks;
  for (size_t s = 0; s < c.peak_bytes.size(); ++s) {
    peaks << QStringLiteral("S%1 %2").arg(s).arg(FormatBytes(c.peak_bytes[s]));
  }
  peak_->setText(peaks.join(QStringLiteral(" · ")));
  const ExplorerConfig& cfg = model_.config();
  // K or M, whichever the schedule uses (the normalized spec leaves the other 0).
  const QString batching = outcome->spec.accum() ? QStringLiteral("K=%1").arg(outcome->spec.accum())
                                                 : QStringLiteral("M=%1").arg(outcome->spec.microbatches_per_iteration());
  outcome_status_ = tr("%1, P=%2, %3: %4 ops simulated")
                        .arg(QString::fromStdString(ScheduleName(cfg.kind)))
                        .arg(cfg.stages)
                        .arg(batching)
                        .arg(outcome->ops.size());
  status_->setText(outcome_status_);
  auto index = std::make_shared<const TraceIndex>(TraceIndex::Build(outcome->ops, outcome->spec.stages()));
  timeline_model_ = std::make_unique<TimelineModel>(index, outcome->spec.chunks());
  timeline_->setTracks({{tr("simulated timeline"), timeline_model_.get(), {}}});
  fitTimeline();
  heatmap_->setCurrent(cfg.accum, cfg.stages);
}

void ExplorerPage::showEvent(QShowEvent* e) {
  QWidget::showEvent(e);
  fitTimeline();
}

void ExplorerPage::resizeEvent(QResizeEvent* e) {
  QWidget::resizeEvent(e);
  fitTimeline();
}

// Gives the timeline pane the rows' height when the window has room (the heatmap keeps at least
// its minimum); otherwise the pane keeps its share and scrolls.
void ExplorerPage::fitTimeline() {
  const int rows = timeline_->sizeHint().height();
  timeline_->setMinimumHeight(rows);
  if (!isVisible()) return;
  const QList<int> sizes = splitter_->sizes();
  const int total = sizes.value(0) + sizes.value(1);
  const int frame = timeline_scroll_->frameWidth() * 2;
  if (total <= 0 || sizes.value(0) >= rows + frame) return;
  const int timeline = std::min(rows + frame, std::max(sizes.value(0), total - heatmap_->minimumHeight()));
  splitter_->setSizes({timeline, total - timeline});
}

}  // namespace paci::gui
