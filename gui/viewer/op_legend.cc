#include "gui/viewer/op_legend.h"

#include <QPainter>

namespace paci::gui {
namespace {
constexpr int kSwatch = 12, kGap = 14, kHeight = 20;
}  // namespace

OpLegend::OpLegend(QWidget* parent) : QWidget(parent) {
  setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
  hide();
}

void OpLegend::setEntries(std::vector<LegendEntry> entries, uint32_t chunks) {
  entries_ = std::move(entries);
  notes_.clear();
  if (!entries_.empty()) notes_ << tr("lighter shades: next micro-batches");
  if (chunks > 1) {
    notes_ << tr("F3a, F3b: micro-batch 3 on model chunk a, b (V = %1)").arg(chunks);
  }
  setVisible(!entries_.empty());
  updateGeometry();
  update();
}

QStringList OpLegend::texts() const {
  QStringList out;
  for (const auto& e : entries_) out << e.text;
  return out + notes_;
}

QSize OpLegend::sizeHint() const {
  const QFontMetrics fm(font());
  int w = 0;
  for (const auto& e : entries_) w += kSwatch + 4 + fm.horizontalAdvance(e.text) + kGap;
  for (const QString& n : notes_) w += fm.horizontalAdvance(n) + kGap;
  return {w, kHeight};
}

void OpLegend::paintEvent(QPaintEvent*) {
  QPainter p(this);
  const QFontMetrics fm(font());
  int x = 4;
  const int mid = height() / 2;
  for (const auto& e : entries_) {
    p.fillRect(QRect(x, mid - kSwatch / 2, kSwatch, kSwatch), e.color);
    p.setPen(e.color.darker(150));
    p.drawRect(QRect(x, mid - kSwatch / 2, kSwatch - 1, kSwatch - 1));
    x += kSwatch + 4;
    p.setPen(palette().color(QPalette::WindowText));
    p.drawText(QRect(x, 0, fm.horizontalAdvance(e.text) + 2, height()), Qt::AlignVCenter, e.text);
    x += fm.horizontalAdvance(e.text) + kGap;
  }
  p.setPen(palette().color(QPalette::PlaceholderText));
  for (const QString& n : notes_) {
    p.drawText(QRect(x, 0, fm.horizontalAdvance(n) + 2, height()), Qt::AlignVCenter, n);
    x += fm.horizontalAdvance(n) + kGap;
  }
}

}  // namespace paci::gui
