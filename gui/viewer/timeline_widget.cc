#include "gui/viewer/timeline_widget.h"

#include <QHelpEvent>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QPolygonF>
#include <QToolTip>
#include <QWheelEvent>
#include <algorithm>
#include <cmath>

#include "gui/model/op_style.h"

namespace paci::gui {
namespace {
constexpr double kGutter = 64;  // stage labels
constexpr double kRuler = 26;
constexpr double kTitle = 20;  // track title row
constexpr double kTrackGap = 10;
}  // namespace

TimelineWidget::TimelineWidget(QWidget* parent) : QWidget(parent) {
  setMouseTracking(true);
  setFocusPolicy(Qt::StrongFocus);
  setAttribute(Qt::WA_OpaquePaintEvent);
}

void TimelineWidget::setTracks(std::vector<Track> tracks) {
  tracks_ = std::move(tracks);
  // Zoom history, matches and area belong to the run shown before.
  zoom_back_.clear();
  highlights_.clear();
  current_match_.reset();
  area_.reset();
  emit zoomHistoryChanged();
  updateGeometry();
  fit();
}

void TimelineWidget::fit() {
  double extent = 1;
  for (const auto& t : tracks_) extent = std::max<double>(extent, t.model->index().makespan());
  axis_.Fit(extent, std::max(1.0, width() - kGutter));
  changed();
}

void TimelineWidget::setEmptyText(const QString& text) {
  empty_text_ = text;
  update();
}

std::vector<double> TimelineWidget::rulerTicks() const {
  return tracks_.empty() ? std::vector<double>{} : axis_.Ticks(90);
}

std::vector<std::pair<double, QString>> TimelineWidget::rulerLabels() const {
  std::vector<std::pair<double, QString>> out;
  const double step = axis_.TickStep(90);
  const QFontMetricsF fm(font());
  for (double t : rulerTicks()) {
    const QString text = QString::fromStdString(FormatTime(t, step));
    const double x = kGutter + axis_.ToX(t) + 3;
    if (x + fm.horizontalAdvance(text) > width()) continue;
    out.emplace_back(x, text);
  }
  return out;
}

void TimelineWidget::showRange(double t0, double t1) {
  axis_.ShowRange(t0, t1);
  changed();
}

void TimelineWidget::zoomToRange(double t0, double t1) {
  if (t1 < t0) std::swap(t0, t1);
  if (!(t1 > t0)) return;
  zoom_back_.emplace_back(axis_.VisibleStart(), axis_.VisibleEnd());
  showRange(t0, t1);
  emit zoomHistoryChanged();
}

bool TimelineWidget::zoomBack() {
  if (zoom_back_.empty()) return false;
  const auto [t0, t1] = zoom_back_.back();
  zoom_back_.pop_back();
  showRange(t0, t1);
  emit zoomHistoryChanged();
  return true;
}

void TimelineWidget::setHighlights(std::vector<size_t> ops, std::optional<size_t> current) {
  std::sort(ops.begin(), ops.end());
  highlights_ = std::move(ops);
  current_match_ = current;
  update();
}

bool TimelineWidget::highlighted(size_t op) const {
  return std::binary_search(highlights_.begin(), highlights_.end(), op);
}

void TimelineWidget::centreOn(size_t op) {
  if (tracks_.empty()) return;
  const OpSpan& o = tracks_[0].model->index().op(op);
  const double op_w = static_cast<double>(o.end - o.start);
  double span = axis_.VisibleEnd() - axis_.VisibleStart();
  // Keep the zoom, unless the op would not show: wider than the view, or under 2 px (stepping
  // through matches of a whole 9 M-op run would otherwise land on invisible slivers).
  if (op_w > 0.9 * span) span = 3 * op_w;
  if (op_w > 0 && op_w / span * axis_.width_px < 2) span = 50 * op_w;
  const double mid = (static_cast<double>(o.start) + static_cast<double>(o.end)) / 2;
  // Centred, but not past either end of the run: a match near the start showed negative times.
  const double end = static_cast<double>(tracks_[0].model->index().makespan());
  double t0 = mid - span / 2;
  if (span < end) t0 = std::clamp(t0, 0.0, end - span);
  showRange(t0, t0 + span);
}

void TimelineWidget::clearArea() {
  if (!area_) return;
  area_.reset();
  update();
  emit areaCleared();
}

void TimelineWidget::setPlayHead(std::optional<double> t, std::vector<size_t> emphasised) {
  play_head_ = t;
  emphasised_ = std::move(emphasised);
  update();
}

TimelineWidget::ReplayLook TimelineWidget::replayLook(size_t op) const {
  if (!play_head_ || tracks_.empty()) return ReplayLook::kNormal;
  if (std::binary_search(emphasised_.begin(), emphasised_.end(), op)) return ReplayLook::kInFlight;
  return static_cast<double>(tracks_[0].model->index().op(op).start) >= *play_head_ ? ReplayLook::kFuture
                                                                                    : ReplayLook::kDone;
}

void TimelineWidget::changed() {
  update();
  emit axisChanged();
}

QSize TimelineWidget::sizeHint() const {
  return {1200, static_cast<int>(trackTop(static_cast<int>(tracks_.size())) + 4)};
}

double TimelineWidget::trackTop(int t) const {
  double y = kRuler;
  for (int i = 0; i < t && i < static_cast<int>(tracks_.size()); ++i) {
    y += kTitle + tracks_[i].model->Height() + kTrackGap;
  }
  return y + kTitle;
}

std::optional<std::pair<int, QPointF>> TimelineWidget::locate(QPointF pos) const {
  for (int t = 0; t < static_cast<int>(tracks_.size()); ++t) {
    const double top = trackTop(t);
    if (pos.y() >= top && pos.y() < top + tracks_[t].model->Height()) {
      return std::make_pair(t, QPointF(pos.x() - kGutter, pos.y() - top));
    }
  }
  return std::nullopt;
}

void TimelineWidget::resizeEvent(QResizeEvent*) {
  // Keep the visible time range when the width changes.
  const double t0 = axis_.VisibleStart(), t1 = axis_.VisibleEnd();
  axis_.width_px = std::max(1.0, width() - kGutter);
  axis_.ShowRange(t0, t1);
}

void TimelineWidget::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.fillRect(rect(), palette().base());
  for (int t = 0; t < static_cast<int>(tracks_.size()); ++t) paintTrack(p, t);
  paintArea(p);
  paintRuler(p);
  if (tracks_.empty()) {
    p.setPen(palette().color(QPalette::PlaceholderText));
    p.drawText(rect().adjusted(0, static_cast<int>(kRuler), 0, 0), Qt::AlignCenter | Qt::TextWordWrap,
               empty_text_);
  }
  if (play_head_) {
    const double x = kGutter + axis_.ToX(*play_head_);
    p.setPen(QPen(QColor(220, 30, 30), 2));
    p.drawLine(QPointF(x, kRuler), QPointF(x, height()));
  }
}

void TimelineWidget::paintRuler(QPainter& p) {
  p.fillRect(QRectF(0, 0, width(), kRuler), palette().window());
  p.setPen(palette().color(QPalette::Mid));
  p.drawLine(QPointF(0, kRuler - 0.5), QPointF(width(), kRuler - 0.5));
  p.setPen(palette().color(QPalette::WindowText));
  for (double t : rulerTicks()) {
    const double x = kGutter + axis_.ToX(t);
    p.drawLine(QPointF(x, kRuler - 8), QPointF(x, kRuler));
  }
  for (const auto& [x, text] : rulerLabels()) p.drawText(QPointF(x, kRuler - 10), text);
}

void TimelineWidget::paintTrack(QPainter& p, int t) {
  const TimelineModel& m = *tracks_[t].model;
  const double top = trackTop(t);
  const double w = axis_.width_px;
  p.setPen(palette().color(QPalette::WindowText));
  QFont bold = font();
  bold.setBold(true);
  p.setFont(bold);
  p.drawText(QRectF(4, top - kTitle, width() - 8, kTitle), Qt::AlignLeft | Qt::AlignVCenter,
             tracks_[t].title);
  p.setFont(font());
  for (uint32_t s = 0; s < m.index().stages(); ++s) {
    const QRectF lane = m.StageRect(s, w).translated(kGutter, top);
    p.fillRect(lane, palette().alternateBase());
    p.setPen(palette().color(QPalette::WindowText));
    p.drawText(QRectF(0, lane.top(), kGutter - 6, lane.height()), Qt::AlignRight | Qt::AlignVCenter,
               QStringLiteral("stage %1").arg(s));
  }
  p.save();
  p.setClipRect(QRectF(kGutter, top, w, m.Height()));
  p.translate(kGutter, top);
  const bool replay = t == 0 && play_head_.has_value();
  const bool searching = t == 0 && !highlights_.empty();
  const QFontMetricsF fm(font());
  // A dense row: its busy fraction per pixel column as a filled profile, one polygon per row.
  auto paint_coverage = [&](const TimelineModel::Coverage& c) {
    QPolygonF profile;
    profile.reserve(static_cast<int>(2 * c.busy.size() + 2));
    profile << QPointF(0, c.band.bottom());
    for (size_t x = 0; x < c.busy.size(); ++x) {
      const double y = c.band.bottom() - c.busy[x] * c.band.height();
      profile << QPointF(static_cast<double>(x), y) << QPointF(static_cast<double>(x + 1), y);
    }
    profile << QPointF(static_cast<double>(c.busy.size()), c.band.bottom());
    p.setPen(Qt::NoPen);
    p.setBrush(CoverageFill(c.lane));
    p.drawPolygon(profile);
    if (replay) {
      // Zoomed out, ops are a profile, not boxes: wash out what lies after the play head so past
      // and future differ here too (a whole 9 M-op run looked the same on both sides).
      const double head = std::max(0.0, axis_.ToX(*play_head_));
      QColor wash = palette().color(QPalette::Base);
      wash.setAlpha(150);
      if (head < c.band.right())
        p.fillRect(QRectF(head, c.band.top(), c.band.right() - head, c.band.height()), wash);
    }
  };
  m.ForEachVisible(
      axis_,
      [&](const TimelineModel::Box& b) {
        const OpSpan& op = m.index().op(b.index);
        QColor fill = OpFill(op);
        const ReplayLook look = replay ? replayLook(b.index) : ReplayLook::kNormal;
        // A search washes out what does not match, as the replay does the ops still to come.
        const bool match = searching && highlighted(b.index);
        const bool faded = look == ReplayLook::kFuture || (searching && !match);
        if (faded) {
          fill = fill.lighter(160);
          fill.setAlpha(110);
        }
        p.fillRect(b.rect, fill);
        if (match) {
          p.setPen(QPen(QColor(255, 170, 0), 2));
          p.drawRect(b.rect.adjusted(1, 1, -1, -1));
        } else if (look == ReplayLook::kInFlight) {
          p.setPen(QPen(QColor(20, 20, 20), 2));
          p.drawRect(b.rect.adjusted(1, 1, -1, -1));
        } else if (b.rect.width() > 4) {
          p.setPen(QPen(fill.darker(150), 0));
          p.drawRect(b.rect.adjusted(0, 0, -0.5, -0.5));
        }
        if (op.lane == ir::LANE_COMPUTE && b.rect.width() > 12) {
          // The longest label that fits: "F3 v2", else "F3", else none.
          QString label = OpLabel(op, true, m.chunks());
          if (fm.horizontalAdvance(label) + 4 > b.rect.width()) label = OpLabel(op, false, m.chunks());
          if (fm.horizontalAdvance(label) + 4 <= b.rect.width()) {
            p.setPen(faded || fill.lightness() > 170 ? QColor(60, 60, 60) : QColor(Qt::white));
            p.drawText(b.rect, Qt::AlignCenter, label);
          }
        }
      },
      paint_coverage);
  paintSelection(p, t);
  if (t == 0) paintHighlights(p);
  p.restore();
}

void TimelineWidget::paintHighlights(QPainter& p) {
  // The current match is drawn even where its row is drawn as a busy profile or the op is
  // narrower than a pixel: a tall marker in the match colour around it.
  if (!current_match_) return;
  const QRectF r = tracks_[0].model->OpRect(*current_match_, axis_);
  p.setBrush(Qt::NoBrush);
  p.setPen(QPen(QColor(230, 0, 120), 3));
  p.drawRect(r.adjusted(-2, -2, 2, 2));
}

void TimelineWidget::paintArea(QPainter& p) {
  const QColor edge(30, 90, 200), fill(30, 90, 200, 45);
  if (pressed_ && dragging_ && drag_ == Drag::kZoomRange) {
    // The time range a Shift+drag will zoom to, across every track.
    const double x0 = std::min(press_origin_.x(), drag_now_.x());
    const double x1 = std::max(press_origin_.x(), drag_now_.x());
    const QRectF band(x0, kRuler, x1 - x0, height() - kRuler);
    p.fillRect(band, fill);
    p.setPen(QPen(edge, 1));
    p.drawLine(band.topLeft(), band.bottomLeft());
    p.drawLine(band.topRight(), band.bottomRight());
    return;
  }
  if (pressed_ && dragging_ && drag_ == Drag::kArea) {
    const QRectF r = QRectF(press_origin_, drag_now_).normalized();
    p.fillRect(r, fill);
    p.setPen(QPen(edge, 1, Qt::DashLine));
    p.drawRect(r);
    return;
  }
  if (!area_ || area_->track >= static_cast<int>(tracks_.size())) return;
  const TimelineModel& m = *tracks_[area_->track].model;
  const double top = trackTop(area_->track);
  const double x0 = kGutter + axis_.ToX(area_->t0), x1 = kGutter + axis_.ToX(area_->t1);
  const double y0 = top + m.StageRect(area_->first_stage, 1).top() - 2;
  const double y1 = top + m.StageRect(area_->last_stage, 1).bottom() + 2;
  const QRectF r(QPointF(std::max(x0, kGutter), y0), QPointF(std::min<double>(x1, width()), y1));
  if (r.width() <= 0) return;
  p.fillRect(r, fill);
  p.setPen(QPen(edge, 2));
  p.setBrush(Qt::NoBrush);
  p.drawRect(r);
}

void TimelineWidget::paintSelection(QPainter& p, int t) {
  const TimelineModel& m = *tracks_[t].model;
  if (!m.selected()) return;
  const QRectF sel = m.OpRect(*m.selected(), axis_);
  auto outline = [&](size_t i, const QColor& c) {
    p.setPen(QPen(c, 2));
    p.setBrush(Qt::NoBrush);
    p.drawRect(m.OpRect(i, axis_).adjusted(-1, -1, 1, 1));
  };
  auto arrow = [&](const QRectF& from, const QRectF& to, const QColor& c) {
    QPainterPath path(QPointF(from.right(), from.center().y()));
    const QPointF end(to.left(), to.center().y());
    path.cubicTo(QPointF(from.right() + 30, from.center().y()), QPointF(end.x() - 30, end.y()), end);
    p.setPen(QPen(c, 1.5));
    p.drawPath(path);
  };
  const QColor before(230, 120, 0), after(140, 60, 200);
  for (size_t i : m.edges().before) {
    outline(i, before);
    arrow(m.OpRect(i, axis_), sel, before);
  }
  for (size_t i : m.edges().after) {
    outline(i, after);
    arrow(sel, m.OpRect(i, axis_), after);
  }
  outline(*m.selected(), Qt::black);
}

void TimelineWidget::wheelEvent(QWheelEvent* e) {
  const double x = e->position().x() - kGutter;
  if (e->modifiers() & Qt::ShiftModifier) {
    axis_.Pan(e->angleDelta().y() / 2.0);
  } else {
    // 120 units per notch; one notch zooms by 20 %.
    axis_.ZoomAbout(x, std::pow(1.2, e->angleDelta().y() / 120.0));
  }
  changed();
  e->accept();
}

void TimelineWidget::mousePressEvent(QMouseEvent* e) {
  if (e->button() != Qt::LeftButton) return;
  pressed_ = true;
  dragging_ = false;
  press_pos_ = press_origin_ = drag_now_ = e->position();
  const auto mods = e->modifiers();
  drag_ = (mods & Qt::ShiftModifier)                              ? Drag::kZoomRange
          : (mods & (Qt::ControlModifier | Qt::AltModifier)) != 0 ? Drag::kArea
                                                                  : Drag::kPan;
}

void TimelineWidget::mouseMoveEvent(QMouseEvent* e) {
  if (!pressed_) return;
  const QPointF d = e->position() - press_pos_;
  if (!dragging_ && std::abs(d.x()) + std::abs(d.y()) < 4) return;
  dragging_ = true;
  if (drag_ != Drag::kPan) {
    drag_now_ = e->position();
    update();
    return;
  }
  setCursor(Qt::ClosedHandCursor);
  axis_.Pan(d.x());
  press_pos_ = e->position();
  changed();
}

void TimelineWidget::mouseReleaseEvent(QMouseEvent* e) {
  if (!pressed_) return;
  pressed_ = false;
  unsetCursor();
  if (dragging_ && drag_ == Drag::kZoomRange) {
    const double x0 = std::min(press_origin_.x(), e->position().x()) - kGutter;
    const double x1 = std::max(press_origin_.x(), e->position().x()) - kGutter;
    if (x1 - x0 >= 4) zoomToRange(axis_.ToNs(std::max(0.0, x0)), axis_.ToNs(x1));
    update();
    return;
  }
  if (dragging_ && drag_ == Drag::kArea) {
    finishArea(e->position());
    return;
  }
  if (dragging_) return;
  clearArea();  // a click anywhere ends an area selection, as in Perfetto
  const auto where = locate(e->position());
  for (int t = 0; t < static_cast<int>(tracks_.size()); ++t) {
    std::optional<size_t> hit;
    if (where && where->first == t) hit = tracks_[t].model->HitTest(where->second, axis_);
    tracks_[t].model->Select(hit);
    if (where && where->first == t) emit opSelected(t, hit ? static_cast<qint64>(*hit) : -1);
  }
  update();
}

void TimelineWidget::finishArea(QPointF end) {
  // The track the drag started on (or ended on, when it started in the ruler or a gap).
  auto start = locate(QPointF(press_origin_.x(), press_origin_.y()));
  if (!start) start = locate(end);
  if (!start) {
    update();
    return;
  }
  const int t = start->first;
  const TimelineModel& m = *tracks_[t].model;
  const double top = trackTop(t);
  const double ya = press_origin_.y() - top, yb = end.y() - top;
  Area a;
  a.track = t;
  a.first_stage = m.StageAt(std::min(ya, yb));
  a.last_stage = m.StageAt(std::max(ya, yb));
  const double xa = std::max(0.0, std::min(press_origin_.x(), end.x()) - kGutter);
  const double xb = std::max(press_origin_.x(), end.x()) - kGutter;
  a.t0 = std::max(0.0, axis_.ToNs(xa));
  a.t1 = std::min<double>(m.index().makespan(), axis_.ToNs(xb));
  if (a.t1 <= a.t0) {
    update();
    return;
  }
  area_ = a;
  update();
  emit areaSelected(a);
}

void TimelineWidget::keyPressEvent(QKeyEvent* e) {
  const double mid = axis_.width_px / 2;
  switch (e->key()) {
    case Qt::Key_W: axis_.ZoomAbout(mid, 1.25); break;
    case Qt::Key_S: axis_.ZoomAbout(mid, 0.8); break;
    case Qt::Key_A: axis_.Pan(axis_.width_px / 8); break;
    case Qt::Key_D: axis_.Pan(-axis_.width_px / 8); break;
    case Qt::Key_0: fit(); return;
    case Qt::Key_Z:
    case Qt::Key_Backspace: zoomBack(); return;
    case Qt::Key_Escape: clearArea(); return;
    case Qt::Key_N: emit searchStep((e->modifiers() & Qt::ShiftModifier) ? -1 : 1); return;
    default: QWidget::keyPressEvent(e); return;
  }
  changed();
}

bool TimelineWidget::event(QEvent* e) {
  if (e->type() == QEvent::ToolTip) {
    auto* help = static_cast<QHelpEvent*>(e);
    const auto where = locate(help->pos());
    std::optional<size_t> hit;
    if (where) hit = tracks_[where->first].model->HitTest(where->second, axis_);
    if (hit) {
      const Track& track = tracks_[where->first];
      QString tip = track.model->ToolTip(*hit);
      if (track.extra_tooltip) tip += track.extra_tooltip(*hit);
      QToolTip::showText(help->globalPos(), tip, this);
    } else {
      QToolTip::hideText();
    }
    return true;
  }
  return QWidget::event(e);
}

}  // namespace paci::gui
