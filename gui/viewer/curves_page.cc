#include "gui/viewer/curves_page.h"

#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLegendMarker>
#include <QLineSeries>
#include <QScatterSeries>
#include <QValueAxis>
#include <QVBoxLayout>
#include <cmath>

namespace paci::gui {
namespace {
// A tick step of 1, 2 or 5 x 10^k, at least `least`, giving about `ticks` ticks over [0, max]:
// whole updates with least = 1 (the axis once ticked at 12.5 updates), round seconds otherwise.
double TickStep(double max, int ticks, double least) {
  const double raw = std::max({least, max / ticks, 1e-9});
  const double decade = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0}) {
    if (m * decade >= raw) return m * decade;
  }
  return 10 * decade;
}
}  // namespace

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

QChart* CurvesPage::chart() const { return view_->chart(); }

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
  bool any_val = false;
  for (size_t i = 0; i < series.size(); ++i) {
    const QColor c = QColor::fromHsv(static_cast<int>(i * 360 / std::max<size_t>(series.size(), 1)) % 360, 200, 200);
    add(series[i].loss, series[i].name + tr(" loss"), c, false);
    add(series[i].val_loss, series[i].name + tr(" val"), c.darker(130), true);
    any_val |= !series[i].val_loss.isEmpty();
    if (series[i].final_val_loss) {
      // Only the final validation loss is stored: one marker where the run ended.
      auto* m = new QScatterSeries;
      m->setName(series[i].name + tr(" val (final)"));
      m->setMarkerShape(QScatterSeries::MarkerShapeRectangle);
      m->setMarkerSize(11);
      m->setColor(c.darker(130));
      m->append(*series[i].final_val_loss);
      chart->addSeries(m);
      m->attachAxis(x);
      m->attachAxis(y);
      y_min = std::min(y_min, series[i].final_val_loss->y());
      y_max = std::max(y_max, series[i].final_val_loss->y());
      any_val = true;
    }
    if (target_->value() > 0) {
      const auto hit = model_.timeToTarget(i, target_->value(), axis);
      // Updates are whole numbers ("update 55", not "55.00"); wall time in seconds.
      const QString at = !hit ? tr("not reached")
                         : axis == CurveAxis::kUpdate ? tr("update %1").arg(std::llround(*hit))
                                                      : tr("%1 s").arg(*hit, 0, 'f', 2);
      lines << QStringLiteral("%1: %2").arg(series[i].name, at);
    }
  }
  // Runs whose loss curves coincide are drawn over each other: say so, or one looks missing.
  QStringList same;
  for (size_t i = 0; i < series.size(); ++i) {
    for (size_t j = i + 1; j < series.size(); ++j) {
      if (!series[i].loss.isEmpty() && series[i].loss == series[j].loss) {
        same << tr("%1 and %2").arg(series[i].name, series[j].name);
      }
    }
  }
  if (target_->value() > 0 && !series.empty()) {
    add({QPointF(0, target_->value()), QPointF(x_max, target_->value())}, tr("target"),
        Qt::gray, true);
  }
  bool markers = false;
  for (const auto& s : series) markers |= s.final_val_loss.has_value();
  // A final-validation marker sits on the last update: a little room past it, or half is cut off.
  x->setRange(0, markers ? x_max * 1.03 : x_max);
  const double step = TickStep(x_max, 8, axis == CurveAxis::kUpdate ? 1.0 : 0.0);
  x->setTickType(QValueAxis::TicksDynamic);
  x->setTickAnchor(0);
  x->setTickInterval(step);
  x->setLabelFormat(axis == CurveAxis::kUpdate || step >= 1 ? QStringLiteral("%.0f")
                    : step >= 0.1                          ? QStringLiteral("%.1f")
                                                           : QStringLiteral("%.2f"));
  if (y_max >= y_min) y->setRange(y_min - 0.05 * (y_max - y_min), y_max + 0.05 * (y_max - y_min));
  chart->legend()->setAlignment(Qt::AlignRight);
  chart->setTitle(series.empty() ? tr("No runs selected")
                  : any_val      ? tr("Loss and validation loss of %1 runs").arg(series.size())
                                 : tr("Loss of %1 runs (no validation loss stored)").arg(series.size()));
  QChart* old = view_->chart();
  view_->setChart(chart);
  delete old;
  QString text;
  if (series.empty()) {
    text = tr("Select runs in the run browser and press \"Curves\".");
  } else if (!lines.isEmpty()) {
    text = tr("Reached target loss %1: ").arg(target_->value()) + lines.join(QStringLiteral("; "));
  } else {
    size_t n = 0;
    for (const auto& s : series) n += s.loss.size();
    text = n ? tr("Set a target loss to see when each run reaches it.")
             : tr("These runs have no loss records (simulated runs have none; "
                  "measured runs from the executor do).");
  }
  if (!same.isEmpty()) text += tr("  Identical loss curves, drawn over each other: %1.").arg(same.join(QStringLiteral("; ")));
  summary_->setText(text);
}

}  // namespace paci::gui
