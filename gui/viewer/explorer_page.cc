#include "gui/viewer/explorer_page.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFontMetrics>
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
#include <QToolButton>
#include <QVBoxLayout>
#include <algorithm>

#include "gui/model/number_format.h"
#include "gui/model/op_style.h"
#include "gui/viewer/heatmap_widget.h"
#include "gui/viewer/op_legend.h"
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

// An editable menu of the names sim/ knows (a file path may be typed instead).
QComboBox* NameMenu(const std::vector<std::string>& names, const QString& tip) {
  auto* box = new QComboBox;
  box->setEditable(true);
  box->setInsertPolicy(QComboBox::NoInsert);
  for (const std::string& n : names) box->addItem(QString::fromStdString(n));
  box->setToolTip(tip);
  return box;
}

// A card: a big value and, when `note` is given, a small line under it (the steady-state cards
// name what they are and give the simulated run's figure beside).
QWidget* Card(const QString& title, QLabel** value, QLabel** note = nullptr) {
  *value = new QLabel(QStringLiteral("–"));
  (*value)->setStyleSheet(QStringLiteral("font-size: 16pt; font-weight: bold;"));
  auto* box = new QGroupBox(title);
  auto* l = new QVBoxLayout(box);
  l->addWidget(*value);
  if (note) {
    *note = new QLabel;
    QFont small = (*note)->font();
    small.setPointSizeF(8);
    (*note)->setFont(small);
    (*note)->setStyleSheet(QStringLiteral("color: #555;"));
    // Two lines from the start, so the cards do not grow (and the timeline shrink) when the
    // first result arrives.
    (*note)->setMinimumHeight(2 * QFontMetrics(small).lineSpacing());
    l->addWidget(*note);
  }
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
  // The legend heads the timeline pane (not the page): the controls keep their place.
  legend_ = new OpLegend;
  auto* pane = new QWidget;
  auto* pane_layout = new QVBoxLayout(pane);
  pane_layout->setContentsMargins(0, 0, 0, 0);
  pane_layout->setSpacing(2);
  pane_layout->addWidget(legend_);
  pane_layout->addWidget(timeline_scroll_, 1);
  splitter_->addWidget(pane);
  splitter_->addWidget(heatmap_);
  splitter_->setStretchFactor(0, 3);
  splitter_->setStretchFactor(1, 2);
  auto* right = splitter_;
  auto* body = new QHBoxLayout;
  body->addWidget(buildControls());
  body->addWidget(right, 1);
  // A failed simulation is said here, across the page under the cards, in the controls' words
  // (not the command line's), while the cards and timeline are cleared.
  error_ = new QLabel;
  error_->setWordWrap(true);
  error_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  error_->setStyleSheet(
      QStringLiteral("QLabel { background: #fdecea; color: #8a1c1c; border: 1px solid "
                     "#e3a5a0; border-radius: 3px; padding: 8px; font-size: 11pt; }"));
  error_->hide();
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(buildCards());
  layout->addWidget(error_);
  layout->addLayout(body, 1);

  connect(&model_, &ExplorerModel::outcomeReady, this, &ExplorerPage::showOutcome);
  connect(&model_, &ExplorerModel::failed, this, &ExplorerPage::showFailure);
  connect(&model_, &ExplorerModel::busyChanged, this, [this](bool busy) {
    if (busy) status_->setText(tr("Simulating…"));
  });
  connect(&model_, &ExplorerModel::sweepReady, this, [this] {
    status_->setText(outcome_status_);  // the sweep's "Simulating…" is over
    const bool first = heatmap_->sweepEmpty();
    heatmap_->setData(model_.sweep(), static_cast<SweepMetric>(metric_->currentIndex()));
    syncHeatmap();
    if (first) {
      // The grid needs room now; the timeline pane keeps the rest and scrolls if it must.
      const QList<int> sizes = splitter_->sizes();
      const int total = sizes.value(0) + sizes.value(1);
      const int grid = std::min(heatmap_->sizeHint().height(), total / 2);
      splitter_->setSizes({total - grid, grid});
    }
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
  form_ = form;
  form->addRow(tr("Schedule"), schedule_);
  form->addRow(tr("Stages P"), p_);
  form->addRow(tr("Per update K"), k_);
  form->addRow(tr("Chunks V"), v_);
  form->addRow(tr("Run length"), length_);
  addCostControls(form);
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
    if (syncing_) return;
    model_.setConfig(readControls());
    syncHeatmap();
  };
  connect(schedule_, &QComboBox::currentIndexChanged, this, changed);
  for (QSpinBox* s : {p_, k_, v_, length_}) connect(s, &QSpinBox::valueChanged, this, changed);
  for (QDoubleSpinBox* s : {fwd_, bwd_, opt_}) {
    connect(s, &QDoubleSpinBox::valueChanged, this, changed);
  }
  connect(scale_, &QLineEdit::editingFinished, this, changed);
  connect(costs_, &QComboBox::currentIndexChanged, this, [this, changed] {
    showCostRows();
    changed();
  });
  // Names re-simulate when picked; typed paths once editing finishes, not at every key.
  for (QComboBox* c : {model_name_, hardware_, link_}) {
    connect(c, &QComboBox::currentIndexChanged, this, changed);
    connect(c->lineEdit(), &QLineEdit::editingFinished, this, changed);
  }
  connect(profile_, &QLineEdit::editingFinished, this, changed);
  connect(microbatch_, &QSpinBox::valueChanged, this, changed);
  connect(colocate_, &QCheckBox::toggled, this, changed);
  connect(sweep, &QPushButton::clicked, this, &ExplorerPage::startSweep);
  showCostRows();
  return box;
}

void ExplorerPage::addCostControls(QFormLayout* form) {
  costs_ = new QComboBox;
  costs_->addItems({tr("typed times"), tr("model on hardware"), tr("measured profile")});
  costs_->setToolTip(
      tr("Typed per-model times, or the model-and-hardware cost model as `paci simulate "
         "--model --hardware --link` (or `--profile`) computes it"));
  const CostNames names = model_.backend() ? model_.backend()->Names() : CostNames{};
  model_name_ =
      NameMenu(names.models, tr("--model: a name, or a JSON file {layers, dim, heads, seq, vocab}"));
  model_name_->setCurrentText(QStringLiteral("gpt2-medium"));
  hardware_ = NameMenu(names.hardware, tr("--hardware: a name, or a JSON file (sim/model_cost.h)"));
  hardware_->setCurrentText(QStringLiteral("h100"));
  std::vector<std::string> links = {""};  // first: no link (an ideal one)
  for (const std::string& l : names.links) links.push_back(l);
  link_ = NameMenu(links, tr("--link: a name, or a JSON file {bandwidth_gbs, latency_us}; empty: ideal"));
  link_->lineEdit()->setPlaceholderText(tr("none (ideal)"));
  link_->setCurrentText(QStringLiteral("nvlink4"));
  profile_ = new QLineEdit;
  profile_->setPlaceholderText(tr("profile.json from `paci profile`"));
  auto* browse = new QToolButton;
  browse->setText(QStringLiteral("…"));
  connect(browse, &QToolButton::clicked, this, [this] {
    const QString f = QFileDialog::getOpenFileName(this, tr("Profile"), {}, tr("Profiles (*.json)"));
    if (f.isEmpty()) return;
    profile_->setText(f);
    emit profile_->editingFinished();
  });
  profile_box_ = new QWidget;
  auto* profile_row = new QHBoxLayout(profile_box_);
  profile_row->setContentsMargins(0, 0, 0, 0);
  profile_row->addWidget(profile_, 1);
  profile_row->addWidget(browse);
  microbatch_ = new QSpinBox;
  microbatch_->setRange(0, 65536);
  microbatch_->setSpecialValueText(tr("default"));
  microbatch_->setToolTip(tr("--microbatch-size: default 8, or the profile's own"));
  colocate_ = new QCheckBox(tr("stages share the device"));
  colocate_->setToolTip(tr("--colocate: ops slowed by the profile's co-location factors"));
  form->addRow(tr("Costs"), costs_);
  form->addRow(tr("Model"), model_name_);
  form->addRow(tr("Hardware"), hardware_);
  form->addRow(tr("Profile"), profile_box_);
  form->addRow(tr("Link"), link_);
  form->addRow(tr("Micro-batch"), microbatch_);
  form->addRow(QString(), colocate_);
}

void ExplorerPage::showCostRows() {
  const auto source = static_cast<Costs>(costs_->currentIndex());
  const bool typed = source == Costs::kTyped, hw = source == Costs::kHardware,
             prof = source == Costs::kProfile;
  for (QWidget* w : {static_cast<QWidget*>(fwd_), static_cast<QWidget*>(bwd_), static_cast<QWidget*>(opt_),
                     static_cast<QWidget*>(scale_)})
    form_->setRowVisible(w, typed);
  form_->setRowVisible(model_name_, hw);
  form_->setRowVisible(hardware_, hw);
  form_->setRowVisible(profile_box_, prof);
  form_->setRowVisible(link_, !typed);
  form_->setRowVisible(microbatch_, !typed);
  form_->setRowVisible(colocate_, prof);
}

QWidget* ExplorerPage::buildCards() {
  auto* row = new QWidget;
  auto* l = new QHBoxLayout(row);
  l->setContentsMargins(0, 0, 0, 0);
  l->addWidget(Card(tr("Throughput"), &tokens_, &tokens_note_));
  l->addWidget(Card(tr("Bubble"), &bubble_, &bubble_note_));
  l->addWidget(Card(tr("Makespan"), &makespan_));
  l->addWidget(Card(tr("Drift max / mean"), &drift_));
  l->addWidget(Card(tr("Peak memory per stage"), &peak_), 2);
  peak_->setStyleSheet(QStringLiteral("font-size: 10pt; font-weight: bold;"));
  peak_->setWordWrap(true);
  status_ = new QLabel;
  status_->setWordWrap(true);
  status_->setMaximumWidth(260);
  l->addWidget(status_);
  auto* column = new QWidget;
  auto* v = new QVBoxLayout(column);
  v->setContentsMargins(0, 0, 0, 0);
  v->addWidget(row);
  stage_costs_ = new QLabel;  // the cost model's split and per-stage costs (model sources only)
  stage_costs_->setWordWrap(true);
  stage_costs_->setVisible(false);
  v->addWidget(stage_costs_);
  return column;
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
  // The cost model's inputs as the command line's flags carry them; sim/ reads them.
  const auto source = static_cast<Costs>(costs_->currentIndex());
  c.cost_source = source == Costs::kTyped ? CostSource::kTyped : CostSource::kModel;
  c.model = sim::ModelCostInputs{};
  if (source == Costs::kHardware) {
    c.model.model = model_name_->currentText().trimmed().toStdString();
    c.model.hardware = hardware_->currentText().trimmed().toStdString();
  } else if (source == Costs::kProfile) {
    c.model.profile = profile_->text().trimmed().toStdString();
    c.model.colocate = colocate_->isChecked();
  }
  if (source != Costs::kTyped) {
    c.model.link = link_->currentText().trimmed().toStdString();
    c.model.microbatch_size = static_cast<uint32_t>(microbatch_->value());
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
  const Costs source = c.cost_source == CostSource::kTyped ? Costs::kTyped
                       : c.model.profile.empty()           ? Costs::kHardware
                                                           : Costs::kProfile;
  costs_->setCurrentIndex(static_cast<int>(source));
  if (source == Costs::kHardware) {
    model_name_->setCurrentText(QString::fromStdString(c.model.model));
    hardware_->setCurrentText(QString::fromStdString(c.model.hardware));
  }
  if (source == Costs::kProfile) {
    profile_->setText(QString::fromStdString(c.model.profile));
    colocate_->setChecked(c.model.colocate);
  }
  if (source != Costs::kTyped) {
    link_->setCurrentText(QString::fromStdString(c.model.link));
    microbatch_->setValue(static_cast<int>(c.model.microbatch_size));
  }
  showCostRows();
  syncing_ = false;
  model_.setConfig(readControls());
  syncHeatmap();
}

void ExplorerPage::syncHeatmap() {
  heatmap_->setCurrent(model_.config().accum, model_.config().stages);
  heatmap_->setStale(model_.sweepStaleReason());
}

void ExplorerPage::startSweep() {
  model_.runSweep(ParseList(sweep_ks_->text()), ParseList(sweep_ps_->text()));
}

void ExplorerPage::showOutcome() {
  const auto outcome = model_.outcome();
  if (!outcome) return;
  error_->hide();
  const MetricCards& c = outcome->cards;
  // The steady state is the headline; the simulated run (fill and drain included) stands beside.
  // Short enough not to widen the cards (a wider card squeezes peak memory into a tall column).
  const QString run = tr("run of %1").arg(FormatCount(static_cast<int64_t>(c.microbatches)));
  if (c.steady_updates > 0) {
    tokens_->setText(QStringLiteral("%1 tok/s").arg(FormatFixed(c.steady_tokens_per_s, 0)));
    tokens_note_->setText(
        tr("steady state, %1 mb/s\n%2: %3 mb/s")
            .arg(FormatFixed(c.steady_microbatches_per_s, 1), run, FormatFixed(c.microbatches_per_s, 1)));
    bubble_->setText(QStringLiteral("%1 %").arg(FormatPercent(100 * c.steady_bubble_fraction, 1)));
    bubble_note_->setText(tr("steady state\n%1: %2 %").arg(run, FormatPercent(100 * c.bubble_fraction, 1)));
  } else {  // no steady state (its updates take no time): the run's own figures, named so
    tokens_->setText(QStringLiteral("%1 tok/s").arg(FormatFixed(c.tokens_per_s, 0)));
    tokens_note_->setText(tr("%1 (no steady state)").arg(run));
    bubble_->setText(QStringLiteral("%1 %").arg(FormatPercent(100 * c.bubble_fraction, 1)));
    bubble_note_->setText(tokens_note_->text());
  }
  makespan_->setText(QStringLiteral("%1 ms").arg(FormatFixed(c.makespan_ns / 1e6, 2)));
  drift_->setText(QStringLiteral("%1 / %2").arg(c.max_drift, 0, 'f', 0).arg(c.mean_drift, 0, 'f', 2));
  QStringList peaks;
  for (size_t s = 0; s < c.peak_bytes.size(); ++s) {
    // No break inside an entry ("S3" on one line, "1.2 GiB" on the next): only between them.
    peaks << QStringLiteral("S%1 %2")
                 .arg(s)
                 .arg(FormatBytes(c.peak_bytes[s]))
                 .replace(QLatin1Char(' '), QChar::Nbsp);
  }
  // The separator stays with the entry before it, so a wrapped line never starts with "·".
  peak_->setText(peaks.join(QString(QChar::Nbsp) + QStringLiteral("· ")));
  const ExplorerConfig& cfg = model_.config();
  // K or M, whichever the schedule uses (the normalized spec leaves the other 0).
  const QString batching = outcome->spec.accum()
                               ? QStringLiteral("K=%1").arg(outcome->spec.accum())
                               : QStringLiteral("M=%1").arg(outcome->spec.microbatches_per_iteration());
  outcome_status_ = tr("%1, P=%2, %3: %4 ops simulated")
                        .arg(QString::fromStdString(ScheduleName(cfg.kind)))
                        .arg(cfg.stages)
                        .arg(batching)
                        .arg(FormatCount(static_cast<int64_t>(outcome->ops.size())));
  // How the steady state was found, where a person asks for it rather than on every card.
  const QString how = tr("Steady state: the difference between simulated runs of %1 and %2 updates, so fill "
                         "and drain cancel. The run on the timeline has %3 micro-batches, fill and drain "
                         "included. mb/s: micro-batches per second.")
                          .arg(c.steady_updates)
                          .arg(2 * c.steady_updates)
                          .arg(FormatCount(static_cast<int64_t>(c.microbatches)));
  for (QLabel* l : {tokens_, tokens_note_, bubble_, bubble_note_}) l->setToolTip(how);
  status_->setText(outcome_status_);
  showStageCosts(outcome->cost);
  auto index = std::make_shared<const TraceIndex>(TraceIndex::Build(outcome->ops, outcome->spec.stages()));
  timeline_model_ = std::make_unique<TimelineModel>(index, outcome->spec.chunks());
  legend_->setRun(*index, outcome->spec.chunks());
  timeline_->setTracks({{tr("simulated timeline"), timeline_model_.get(), {}}});
  fitTimeline();
  syncHeatmap();
}

namespace {
// The simulator reads the cost inputs as the command line's flags and names them so; the page
// names its own controls instead.
QString InControlsWords(QString message) {
  static const std::pair<const char*, const char*> kFlags[] = {{"--microbatch-size", "Micro-batch"},
                                                               {"--model", "Model"},
                                                               {"--hardware", "Hardware"},
                                                               {"--link", "Link"},
                                                               {"--profile", "Profile"},
                                                               {"--colocate", "\"stages share the device\""},
                                                               {"--precision", "Precision"},
                                                               {"--memory-cap-gb", "Memory cap"},
                                                               {"--calibrate", "Calibration"}};
  for (const auto& [flag, control] : kFlags) message.replace(QLatin1String(flag), QLatin1String(control));
  return message;
}
}  // namespace

void ExplorerPage::showFailure(const QString& message) {
  // The old cards and timeline belong to another configuration: cleared, so nothing on the page
  // reads as this configuration's result.
  for (QLabel* card : {tokens_, bubble_, makespan_, drift_, peak_}) card->setText(QStringLiteral("–"));
  for (QLabel* note : {tokens_note_, bubble_note_}) note->clear();
  stage_costs_->hide();
  timeline_->setTracks({});  // before the model its track points into
  timeline_model_.reset();
  legend_->setEntries({}, 1);
  timeline_->setEmptyText(tr("No timeline: this configuration could not be simulated (see above)."));
  const auto source = static_cast<Costs>(costs_->currentIndex());
  QString what;
  if (source == Costs::kProfile && profile_->text().trimmed().isEmpty()) {
    what =
        tr("No profile file chosen. Costs = \"measured profile\" reads the per-layer times of a "
           "file written by <tt>paci profile</tt>: pick one in the Profile row (…), or choose "
           "other costs.");
  } else if (source == Costs::kHardware && model_name_->currentText().trimmed().isEmpty()) {
    what = tr("No model chosen: pick one in the Model row (gpt2 … gpt2-xl) or type a JSON file.");
  } else {
    what = InControlsWords(message).toHtmlEscaped();
  }
  error_->setText(tr("<b>Simulation failed.</b> %1").arg(what));
  error_->show();
  outcome_status_ = tr("Simulation failed.");
  status_->setText(outcome_status_);
  fitTimeline();
}

// The split and per-stage costs the model gave (a typed cost model has no layer counts: hidden).
void ExplorerPage::showStageCosts(const ir::CostModel& cost) {
  QStringList parts;
  for (int s = 0; s < cost.stages_size(); ++s) {
    const ir::StageCost& c = cost.stages(s);
    if (c.layers() == 0) continue;
    parts << tr("S%1: %2 layers, F %3 ms, B %4 + %5 ms, act %6")
                 .arg(s)
                 .arg(c.layers())
                 .arg(c.forward_ns() / 1e6, 0, 'g', 4)
                 .arg(c.backward_input_ns() / 1e6, 0, 'g', 4)
                 .arg(c.backward_weight_ns() / 1e6, 0, 'g', 4)
                 .arg(FormatBytes(c.activation_bytes()));
  }
  stage_costs_->setVisible(!parts.isEmpty());
  stage_costs_->setText(tr("Cost model per stage (one micro-batch) — ") + parts.join(QStringLiteral(" · ")));
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
// its minimum); otherwise the pane keeps its share and scrolls. Before a sweep the heatmap is one
// line of hint and gets only that line (it took ~40 % of the height and cut stages 6-7 at P = 8
// in a 1000x700 window).
void ExplorerPage::fitTimeline() {
  const int rows = timeline_->sizeHint().height();
  timeline_->setMinimumHeight(rows);
  if (!isVisible()) return;
  const QList<int> sizes = splitter_->sizes();
  const int total = sizes.value(0) + sizes.value(1);
  // The pane holds the legend above the scroll area: its line and the spacing count too.
  const int frame = timeline_scroll_->frameWidth() * 2 +
                    (legend_->isHidden() ? 0 : legend_->heightForWidth(timeline_scroll_->width()) + 2);
  if (total > 0 && heatmap_->sweepEmpty()) {
    const int hint = heatmap_->sizeHint().height();
    splitter_->setSizes({total - hint, hint});
    return;
  }
  if (total <= 0 || sizes.value(0) >= rows + frame) return;
  const int timeline =
      std::min(rows + frame, std::max(sizes.value(0), total - heatmap_->minimumSizeHint().height()));
  splitter_->setSizes({timeline, total - timeline});
}

}  // namespace paci::gui
