#include "gui/viewer/op_legend.h"

#include <QPainter>
#include <algorithm>

namespace paci::gui {
namespace {
constexpr int kSwatch = 12, kGap = 14, kHeight = 20;
}  // namespace

OpLegend::OpLegend(QWidget* parent) : QWidget(parent) {
  QSizePolicy policy(QSizePolicy::Expanding, QSizePolicy::Preferred);
  policy.setHeightForWidth(true);  // one line, or two in a narrow window
  setSizePolicy(policy);
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

void OpLegend::setRun(const TraceIndex& index, uint32_t chunks, bool summarised) {
  auto entries = LegendFor(index);
  // About the widest timeline: a stage with more ops than this is drawn as coverage zoomed out.
  constexpr size_t kPixelColumns = 2000;
  if (summarised || index.ops().size() > kPixelColumns * std::max<size_t>(index.stages(), 1)) {
    entries.push_back({CoverageFill(ir::LANE_COMPUTE), tr("busy fraction, where ops are denser than pixels (zoom in for ops)")});
  }
  setEntries(std::move(entries), chunks);
}

QStringList OpLegend::texts() const {
  QStringList out;
  for (const auto& e : entries_) out << e.text;
  return out + notes_;
}

std::vector<QRect> OpLegend::place(int width) const {
  const QFontMetrics fm(font());
  std::vector<int> widths;
  for (const auto& e : entries_) widths.push_back(kSwatch + 4 + fm.horizontalAdvance(e.text) + 2);
  for (const QString& n : notes_) widths.push_back(fm.horizontalAdvance(n) + 2);
  std::vector<QRect> out;
  int x = 4, y = 0;
  for (int w : widths) {
    if (x > 4 && x + w > width - 4) {  // the next line, unless the item starts one anyway
      x = 4;
      y += kHeight;
    }
    out.emplace_back(x, y, w, kHeight);
    x += w + kGap;
  }
  return out;
}

int OpLegend::heightForWidth(int width) const {
  const auto rects = place(width);
  return rects.empty() ? 0 : rects.back().bottom() + 1;
}

QSize OpLegend::sizeHint() const {
  const auto rects = place(1 << 20);  // all on one line
  return {rects.empty() ? 0 : rects.back().right() + 4, kHeight};
}

void OpLegend::paintEvent(QPaintEvent*) {
  QPainter p(this);
  const auto rects = place(width());
  size_t i = 0;
  for (const auto& e : entries_) {
    const QRect r = rects[i++];
    const QRect swatch(r.left(), r.center().y() - kSwatch / 2, kSwatch, kSwatch);
    p.fillRect(swatch, e.color);
    p.setPen(e.color.darker(150));
    p.drawRect(swatch.adjusted(0, 0, -1, -1));
    p.setPen(palette().color(QPalette::WindowText));
    p.drawText(r.adjusted(kSwatch + 4, 0, 0, 0), Qt::AlignVCenter, e.text);
  }
  p.setPen(palette().color(QPalette::PlaceholderText));
  for (const QString& n : notes_) p.drawText(rects[i++], Qt::AlignVCenter, n);
}

}  // namespace paci::gui
