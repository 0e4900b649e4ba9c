#include "gui/viewer/heatmap_widget.h"

#include <QMouseEvent>
#include <QPainter>
#include <algorithm>

namespace paci::gui {
namespace {
constexpr double kLeft = 56, kTop = 28, kBottom = 34, kRight = 12;

QString MetricName(SweepMetric m) {
  switch (m) {
    case SweepMetric::kThroughput: return QStringLiteral("steady-state throughput (tokens/s)");
    case SweepMetric::kBubble: return QStringLiteral("steady-state bubble %");
    case SweepMetric::kMaxDrift: return QStringLiteral("max drift (updates)");
  }
  return {};
}
}  // namespace

HeatmapWidget::HeatmapWidget(QWidget* parent) : QWidget(parent) {}

QSize HeatmapWidget::sizeHint() const { return data_.empty() ? QSize(520, 36) : QSize(520, 300); }

QSize HeatmapWidget::minimumSizeHint() const { return data_.empty() ? QSize(300, 30) : QSize(300, 180); }

void HeatmapWidget::setData(const SweepData& data, SweepMetric metric) {
  const bool was_empty = data_.empty();
  data_ = data;
  metric_ = metric;
  stale_.clear();
  if (was_empty != data_.empty()) updateGeometry();
  update();
}

void HeatmapWidget::setStale(const QString& reason) {
  if (reason == stale_) return;
  stale_ = reason;
  update();
}

QString HeatmapWidget::titleText() const {
  if (data_.empty()) return tr("Press \"Sweep K x P\" to fill the K x P heatmap.");
  if (stale()) {
    return tr("Out of date: the %1 changed since this sweep. Press \"Sweep K x P\" to recompute.")
        .arg(stale_);
  }
  return tr("K x P sweep: %1 (click a cell to open its timeline)").arg(MetricName(metric_));
}

void HeatmapWidget::setMetric(SweepMetric metric) {
  metric_ = metric;
  update();
}

void HeatmapWidget::setCurrent(uint32_t k, uint32_t p) {
  current_k_ = k;
  current_p_ = p;
  update();
}

QRectF HeatmapWidget::gridRect() const {
  return QRectF(kLeft, kTop, width() - kLeft - kRight, height() - kTop - kBottom);
}

QRectF HeatmapWidget::cellRect(size_t ki, size_t pi) const {
  const QRectF g = gridRect();
  const double w = g.width() / data_.ps.size(), h = g.height() / data_.ks.size();
  return QRectF(g.left() + pi * w, g.top() + ki * h, w, h);
}

QString HeatmapWidget::format(double v) const {
  switch (metric_) {
    case SweepMetric::kThroughput: return QString::number(v / 1e3, 'f', 1) + QStringLiteral("k");
    case SweepMetric::kBubble: return QString::number(100 * v, 'f', 1) + QStringLiteral(" %");
    case SweepMetric::kMaxDrift: return QString::number(v, 'f', 0);
  }
  return {};
}

void HeatmapWidget::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.fillRect(rect(), palette().base());
  p.setPen(palette().color(QPalette::WindowText));
  if (data_.empty()) {
    p.setPen(palette().color(QPalette::PlaceholderText));
    p.drawText(rect(), Qt::AlignCenter, titleText());
    return;
  }
  if (stale()) {
    QFont bold = font();
    bold.setBold(true);
    p.setFont(bold);
    p.setPen(QColor(0xb0, 0x3a, 0x00));
  }
  p.drawText(QRectF(0, 0, width(), kTop), Qt::AlignCenter, titleText());
  p.setFont(font());
  // A stale grid's numbers belong to another configuration: drawn faded, so they do not read as
  // this configuration's next to the cards.
  p.setOpacity(stale() ? 0.35 : 1.0);
  double lo = 1e300, hi = -1e300;
  for (const auto& c : data_.cells) {
    if (!c.ok) continue;
    lo = std::min(lo, c.Value(metric_));
    hi = std::max(hi, c.Value(metric_));
  }
  const QColor cold(0xf1, 0xf6, 0xfb), warm(0x08, 0x45, 0x94);
  for (size_t ki = 0; ki < data_.ks.size(); ++ki) {
    for (size_t pi = 0; pi < data_.ps.size(); ++pi) {
      const SweepCell& c = data_.At(ki, pi);
      const QRectF r = cellRect(ki, pi);
      double f = 0;
      if (c.ok && hi > lo) f = (c.Value(metric_) - lo) / (hi - lo);
      const QColor fill = c.ok ? QColor::fromRgbF(cold.redF() + f * (warm.redF() - cold.redF()),
                                                  cold.greenF() + f * (warm.greenF() - cold.greenF()),
                                                  cold.blueF() + f * (warm.blueF() - cold.blueF()))
                               : QColor(0xdd, 0xdd, 0xdd);
      p.fillRect(r, fill);
      p.setPen(QPen(palette().color(QPalette::Base), 1));
      p.drawRect(r);
      p.setPen(f > 0.5 ? Qt::white : Qt::black);
      p.drawText(r, Qt::AlignCenter, c.ok ? format(c.Value(metric_)) : tr("n/a"));
      if (data_.ks[ki] == current_k_ && data_.ps[pi] == current_p_) {
        p.setPen(QPen(QColor(230, 120, 0), 3));
        p.drawRect(r.adjusted(1.5, 1.5, -1.5, -1.5));
      }
    }
  }
  p.setOpacity(1.0);
  p.setPen(palette().color(QPalette::WindowText));
  for (size_t ki = 0; ki < data_.ks.size(); ++ki) {
    const QRectF r = cellRect(ki, 0);
    p.drawText(QRectF(0, r.top(), kLeft - 6, r.height()), Qt::AlignRight | Qt::AlignVCenter,
               QStringLiteral("K=%1").arg(data_.ks[ki]));
  }
  for (size_t pi = 0; pi < data_.ps.size(); ++pi) {
    const QRectF r = cellRect(data_.ks.size() - 1, pi);
    p.drawText(QRectF(r.left(), r.bottom() + 2, r.width(), kBottom - 4), Qt::AlignCenter,
               QStringLiteral("P=%1").arg(data_.ps[pi]));
  }
}

void HeatmapWidget::mouseReleaseEvent(QMouseEvent* e) {
  if (data_.empty()) return;
  for (size_t ki = 0; ki < data_.ks.size(); ++ki) {
    for (size_t pi = 0; pi < data_.ps.size(); ++pi) {
      if (cellRect(ki, pi).contains(e->position())) {
        emit cellClicked(static_cast<int>(ki), static_cast<int>(pi));
        return;
      }
    }
  }
}

}  // namespace paci::gui
