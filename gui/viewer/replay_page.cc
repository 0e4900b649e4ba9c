#include "gui/viewer/replay_page.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPainter>
#include <QPushButton>
#include <QSlider>
#include <QVBoxLayout>

#include "gui/model/op_style.h"
#include "gui/viewer/timeline_widget.h"

namespace paci::gui {
namespace {
constexpr int kBarHeight = 22;
constexpr int kSliderSteps = 10000;
}  // namespace

void StageBars::setValues(std::vector<uint64_t> bytes, std::vector<int64_t> versions, uint64_t peak,
                          bool recorded) {
  recorded_ = recorded;
  bytes_ = std::move(bytes);
  versions_ = std::move(versions);
  peak_ = std::max<uint64_t>(peak, 1);
  updateGeometry();
  update();
}

QString StageBars::label(size_t s) const {
  const QString v = s < versions_.size() && versions_[s] >= 0 ? QStringLiteral("v%1").arg(versions_[s])
                                                              : QStringLiteral("–");
  const QString mem = recorded_ && s < bytes_.size() ? FormatBytes(bytes_[s]) : tr("memory not recorded");
  return QStringLiteral("%1   weights %2").arg(mem, v);
}

QSize StageBars::sizeHint() const { return {600, static_cast<int>(bytes_.size()) * kBarHeight + 8}; }

void StageBars::paintEvent(QPaintEvent*) {
  QPainter p(this);
  const double name_w = 70, right = 240;  // "memory not recorded   weights v12" fits
  const double w = std::max(10.0, width() - name_w - right);
  for (size_t s = 0; s < bytes_.size(); ++s) {
    const double y = 4 + s * kBarHeight;
    p.setPen(palette().color(QPalette::WindowText));
    p.drawText(QRectF(0, y, name_w - 6, kBarHeight - 4), Qt::AlignRight | Qt::AlignVCenter,
               QStringLiteral("stage %1").arg(s));
    p.fillRect(QRectF(name_w, y, w, kBarHeight - 4), palette().alternateBase());
    if (recorded_)
      p.fillRect(QRectF(name_w, y, w * bytes_[s] / peak_, kBarHeight - 4), QColor(0x6a, 0x8e, 0xc8));
    p.drawText(QRectF(name_w + w + 6, y, right - 6, kBarHeight - 4), Qt::AlignLeft | Qt::AlignVCenter,
               label(s));
  }
}

ReplayPage::ReplayPage(QWidget* parent) : QWidget(parent) {
  title_ = new QLabel(tr("Open a run to replay it."));
  timeline_ = new TimelineWidget;
  timeline_->setEmptyText(
      tr("Open a run (double-click it in the Runs tab), then come back here to replay it."));
  play_ = new QPushButton(tr("Play"));
  speed_ = new QComboBox;
  // Trace time per wall second.
  for (const auto& [label, ns] : std::initializer_list<std::pair<const char*, double>>{{"1 us/s", 1e3},
                                                                                       {"10 us/s", 1e4},
                                                                                       {"100 us/s", 1e5},
                                                                                       {"1 ms/s", 1e6},
                                                                                       {"10 ms/s", 1e7},
                                                                                       {"100 ms/s", 1e8},
                                                                                       {"1 s/s", 1e9}}) {
    speed_->addItem(QString::fromLatin1(label), ns);
  }
  speed_->setCurrentIndex(4);
  slider_ = new QSlider(Qt::Horizontal);
  slider_->setRange(0, kSliderSteps);
  clock_ = new QLabel;
  bars_ = new StageBars;
  auto* controls = new QHBoxLayout;
  controls->addWidget(play_);
  controls->addWidget(new QLabel(tr("Speed")));
  controls->addWidget(speed_);
  controls->addWidget(slider_, 1);
  controls->addWidget(clock_);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(title_);
  layout->addLayout(controls);
  layout->addWidget(timeline_, 1);
  memory_title_ = new QLabel(tr("Live memory and latest weight version per stage"));
  layout->addWidget(memory_title_);
  layout->addWidget(bars_);

  auto apply_speed = [this] { model_.setSpeed(speed_->currentData().toDouble() / 1000.0); };
  apply_speed();
  connect(speed_, &QComboBox::currentIndexChanged, this, apply_speed);
  connect(play_, &QPushButton::clicked, this, [this] { model_.playing() ? model_.pause() : model_.play(); });
  connect(&model_, &ReplayModel::playingChanged, this,
          [this](bool on) { play_->setText(on ? tr("Pause") : tr("Play")); });
  connect(&model_, &ReplayModel::timeChanged, this, &ReplayPage::refresh);
  connect(slider_, &QSlider::sliderMoved, this, [this](int v) {
    if (model_.index()) model_.setTime(model_.index()->makespan() * v / kSliderSteps);
  });
}

void ReplayPage::setRun(std::shared_ptr<const TraceIndex> index, uint32_t chunks,
                        std::vector<ir::MemorySample> memory, const QString& title) {
  title_->setText(QStringLiteral("<b>%1</b>").arg(title.toHtmlEscaped()));
  timeline_model_ = std::make_unique<TimelineModel>(index, chunks);
  timeline_->setTracks({{title, timeline_model_.get(), {}}});
  model_.setTrace(std::move(index), std::move(memory));
  memory_title_->setText(
      model_.memoryRecorded()
          ? tr("Live memory and latest weight version per stage")
          : tr("Latest weight version per stage (live memory not recorded: the run's costs "
               "give no memory sizes, e.g. paci simulate without --activation-mb / --weights-mb)"));
  refresh();
}

void ReplayPage::clear() {
  model_.setTrace(nullptr, {});  // pauses the play head
  timeline_->setPlayHead(std::nullopt);
  timeline_->setTracks({});
  timeline_model_.reset();
  title_->setText(tr("Open a run to replay it."));
  clock_->clear();
  slider_->setValue(0);
  bars_->setValues({}, {}, 1);
}

QString ReplayPage::titleText() const { return title_->text(); }

void ReplayPage::refresh() {
  const TraceIndex* ix = model_.index();
  if (!ix) return;
  const double t = model_.time();
  auto in_flight = model_.opsInFlight();
  std::sort(in_flight.begin(), in_flight.end());
  timeline_->setPlayHead(t, std::move(in_flight));
  // Follow the play head when it leaves the visible range.
  const TimeAxis& a = timeline_->axis();
  if (t < a.VisibleStart() || t > a.VisibleEnd()) {
    const double span = a.VisibleEnd() - a.VisibleStart();
    timeline_->showRange(t - 0.1 * span, t + 0.9 * span);
  }
  bars_->setValues(model_.liveBytes(), model_.latestVersion(), model_.peakBytes(), model_.memoryRecorded());
  const double step = std::max<double>(1, ix->makespan() / 1000.0);
  clock_->setText(QString::fromStdString(FormatTime(t, step) + " / " + FormatTime(ix->makespan(), step)));
  if (!slider_->isSliderDown() && ix->makespan() > 0) {
    slider_->setValue(static_cast<int>(t * kSliderSteps / ix->makespan()));
  }
}

}  // namespace paci::gui
