#include "gui/viewer/curves_page.h"

#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLegendMarker>
#include <QLineSeries>
#include <QValueAxis>
#include <QVBoxLayout>

namespace paci::gui {

CurvesPage::CurvesPage(QWidget* parent) : QWidget(parent) {
  axis_ = new QComboBox;
  axis_->addItems({tr("against updates"), tr("against wall time (s)")});
  target_ = new QDoubleSpinBox;
  target_->setRange(0, 100);
  target_->setDecimals(3);
  target_->setValue(0);
  target_->setSpecialValueText(tr("none"));
  summary_ = new QLabel;
  summary_->setWordWrap(true);
  view_ = new QChartView;
  view_->setRenderHint(QPainter::Antialiasing);
  auto* controls = new QHBoxLayout;
  controls->addWidget(new QLabel(tr("Loss")));
  controls->addWidget(axis_);
  controls->addWidget(new QLabel(tr("Target loss")));
  controls->addWidget(target_);
  controls->addStretch();
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(controls);
  layout->addWidget(view_, 1);
  layout->addWidget(summary_);
  connect(axis_, &QComboBox::currentIndexChanged, this, &CurvesPage::refresh);
  connect(target_, &QDoubleSpinBox::valueChanged, this, &CurvesPage::refresh);
  refresh();  // the empty chart and the hint
}

void CurvesPage::clear() {
  model_.clear();
  refresh();
}

QString CurvesPage::summaryText() const { return summary_->text(); }

void CurvesPage::setTarget(double loss) { target_->setValue(loss); }

void CurvesPage::setAxis(CurveAxis axis) { axis_->setCurrentIndex(axis == CurveAxis::kUpdate ? 0 : 1); }

void CurvesPage::refresh() {
  const CurveAxis axis = axis_->currentIndex() == 0 ? CurveAxis::kUpdate : CurveAxis::kWallSeconds;
  auto* chart = new QChart;
  auto* x = new QValueAxis;
  auto* y = new QValueAxis;
  x->setTitleText(axis == CurveAxis::kUpdate ? tr("optimizer update") : tr("wall time (s)"));
  y->setTitleText(tr("loss"));
  chart->addAxis(x, Qt::AlignBottom);
  chart->addAxis(y, Qt::AlignLeft);
  double x_max = 1, y_min = 1e300, y_max = -1e300;
  auto add = [&](const QList<QPointF>& pts, const QString& name, const QColor& c, bool dashed) {
    if (pts.isEmpty()) return;
    auto* s = new QLineSeries;
    s->setName(name);
    s->replace(pts);
    QPen pen(c, 2);
    if (dashed) pen.setStyle(Qt::DashLine);
    s->setPen(pen);
    chart->addSeries(s);
    s->attachAxis(x);
    s->attachAxis(y);
    for (const QPointF& p : pts) {
      x_max = std::max(x_max, p.x());
      y_min = std::min(y_min, p.y());
      y_max = std::max(y_max, p.y());
    }
  };
  const auto series = model_.series(axis);
  QStringList lines;
  for (size_t i = 0; i < series.size(); ++i) {
    const QColor c = QColor::fromHsv(static_cast<int>(i * 360 / std::max<size_t>(series.size(), 1)) % 360, 200, 200);
    add(series[i].loss, series[i].name + tr(" loss"), c, false);
    add(series[i].val_loss, series[i].name + tr(" val"), c.darker(130), true);
    if (target_->value() > 0) {
      const auto hit = model_.timeToTarget(i, target_->value(), axis);
      lines << QStringLiteral("%1: %2").arg(series[i].name,
                                            hit ? QString::number(*hit, 'f', 2) : tr("not reached"));
    }
  }
  if (target_->value() > 0 && !series.empty()) {
    add({QPointF(0, target_->value()), QPointF(x_max, target_->value())}, tr("target"),
        Qt::gray, true);
  }
  x->setRange(0, x_max);
  if (y_max >= y_min) y->setRange(y_min - 0.05 * (y_max - y_min), y_max + 0.05 * (y_max - y_min));
  chart->legend()->setAlignment(Qt::AlignRight);
  chart->setTitle(series.empty() ? tr("No runs selected")
                                 : tr("Loss and validation loss of %1 runs").arg(series.size()));
  QChart* old = view_->chart();
  view_->setChart(chart);
  delete old;
  if (series.empty()) {
    summary_->setText(tr("Select runs in the run browser and press \"Curves\"."));
  } else if (!lines.isEmpty()) {
    summary_->setText(tr("Reached target at (%1): ").arg(axis_->currentText()) + lines.join(QStringLiteral("; ")));
  } else if (!series.empty()) {
    size_t n = 0;
    for (const auto& s : series) n += s.loss.size();
    summary_->setText(n ? tr("Set a target loss to see when each run reaches it.")
                        : tr("These runs have no loss records (simulated runs have none; "
                             "measured runs from the executor do)."));
  }
}

}  // namespace paci::gui
