#include "gui/model/timeline_model.h"

#include <algorithm>
#include <cmath>

#include "gui/model/op_style.h"
#include "proto/ir_names.h"

namespace paci::gui {
namespace {
constexpr ir::Lane kLanes[] = {ir::LANE_COMPUTE, ir::LANE_SEND, ir::LANE_RECV};
}

TimelineModel::TimelineModel(std::shared_ptr<const TraceIndex> index, uint32_t chunks, LaneGeometry geometry)
    : index_(std::move(index)), chunks_(chunks), geometry_(geometry) {}

void TimelineModel::SetOverview(std::shared_ptr<const RunOverview> overview) {
  overview_ = std::move(overview);
  window_t0_ = 0;
  window_t1_ = -1;
}

void TimelineModel::SetWindow(std::shared_ptr<const TraceIndex> index, double t0, double t1) {
  // The selected op stays selected when the new window holds it too (indices change, ids not).
  const std::optional<uint64_t> selected_id =
      selected_ ? std::optional<uint64_t>(index_->op(*selected_).op_id) : std::nullopt;
  index_ = std::move(index);
  window_t0_ = t0;
  window_t1_ = t1;
  deps_.reset();
  const int64_t again = selected_id ? index_->FindOpId(*selected_id) : -1;
  Select(again >= 0 ? std::optional<size_t>(again) : std::nullopt);
}

double TimelineModel::Height() const {
  return index_->stages() * (geometry_.lane_height + geometry_.lane_gap);
}

QRectF TimelineModel::StageRect(uint32_t stage, double width) const {
  return QRectF(0, stage * (geometry_.lane_height + geometry_.lane_gap), width, geometry_.lane_height);
}

uint32_t TimelineModel::StageAt(double y) const {
  if (index_->stages() == 0 || y < 0) return 0;
  const auto s = static_cast<uint32_t>(y / (geometry_.lane_height + geometry_.lane_gap));
  return std::min(s, index_->stages() - 1);
}

QRectF TimelineModel::LaneRect(uint32_t stage, ir::Lane lane, double width) const {
  const QRectF s = StageRect(stage, width);
  const double comm = geometry_.lane_height * geometry_.comm_fraction;
  const double compute = geometry_.lane_height - 2 * comm;
  switch (lane) {
    case ir::LANE_SEND: return QRectF(0, s.top() + compute, width, comm);
    case ir::LANE_RECV: return QRectF(0, s.top() + compute + comm, width, comm);
    default: return QRectF(0, s.top(), width, compute);
  }
}

QRectF TimelineModel::OpRect(size_t i, const TimeAxis& axis) const {
  const OpSpan& s = index_->op(i);
  const QRectF lane = LaneRect(s.stage, s.lane, axis.width_px);
  const double x0 = axis.ToX(s.start), x1 = axis.ToX(s.end);
  return QRectF(x0, lane.top(), std::max(x1 - x0, 1.0), lane.height());
}

void TimelineModel::ForEachVisible(const TimeAxis& axis, const std::function<void(const Box&)>& fn,
                                   const std::function<void(const Coverage&)>& coverage) const {
  const double t0 = axis.VisibleStart(), t1 = axis.VisibleEnd();
  const size_t columns = static_cast<size_t>(std::ceil(axis.width_px));
  if (!Covers(t0, t1)) {
    if (!coverage) return;
    for (uint32_t stage = 0; stage < index_->stages(); ++stage)
      for (ir::Lane lane : kLanes)
        coverage(Coverage{LaneRect(stage, lane, axis.width_px), stage, lane,
                          overview_->BusyFractions(stage, lane, axis.ToNs(0), axis.ns_per_px, columns)});
    return;
  }
  for (uint32_t stage = 0; stage < index_->stages(); ++stage) {
    for (ir::Lane lane : kLanes) {
      const QRectF band = LaneRect(stage, lane, axis.width_px);
      const auto [lo, hi] = index_->Visible(stage, lane, t0, t1);
      if (coverage && static_cast<double>(hi - lo) > axis.width_px) {
        coverage(Coverage{band, stage, lane,
                          index_->BusyFractions(stage, lane, axis.ToNs(0), axis.ns_per_px, columns)});
        continue;
      }
      double covered_to = -1e300;  // right edge of the last drawn box, in px
      for (size_t i = lo; i < hi; ++i) {
        const OpSpan& s = index_->op(i);
        const double x0 = axis.ToX(s.start), x1 = axis.ToX(s.end);
        if (x1 < 0 || x0 > axis.width_px) continue;
        if (x1 - x0 < 1 && std::floor(x0) < covered_to) continue;
        covered_to = std::max(covered_to, std::floor(x0) + 1);
        covered_to = std::max(covered_to, x1);
        fn(Box{QRectF(x0, band.top(), std::max(x1 - x0, 1.0), band.height()), i});
      }
    }
  }
}

std::optional<size_t> TimelineModel::HitTest(QPointF p, const TimeAxis& axis) const {
  if (!Covers(axis.ToNs(p.x()) - axis.ns_per_px, axis.ToNs(p.x()) + axis.ns_per_px)) return std::nullopt;
  for (uint32_t stage = 0; stage < index_->stages(); ++stage) {
    for (ir::Lane lane : kLanes) {
      if (!LaneRect(stage, lane, axis.width_px).contains(p.x(), p.y())) continue;
      // A box is at least a pixel wide on screen; accept a click on that pixel too.
      const double slack = axis.ns_per_px;
      const double t = axis.ToNs(p.x());
      const auto [lo, hi] = index_->Visible(stage, lane, t - slack, t + slack);
      std::optional<size_t> best;
      for (size_t i = lo; i < hi; ++i) {
        const OpSpan& s = index_->op(i);
        if (s.start > t + slack || s.end < t - slack) continue;
        if (!best || s.end - s.start < index_->op(*best).end - index_->op(*best).start) best = i;
      }
      return best;
    }
  }
  return std::nullopt;
}

QString TimelineModel::ToolTip(size_t i) const {
  const OpSpan& s = index_->op(i);
  const double step = std::max<double>(1, (s.end - s.start) / 100.0);
  QString t = QStringLiteral("op %1: %2  (stage %3, micro-batch %4, chunk %5)\n")
                  .arg(s.op_id)
                  .arg(QString::fromStdString(OpKindCode(s.kind)))
                  .arg(s.stage)
                  .arg(s.micro_batch)
                  .arg(s.chunk);
  t += QStringLiteral("start %1   end %2   duration %3\n")
           .arg(QString::fromStdString(FormatTime(s.start, step)),
                QString::fromStdString(FormatTime(s.end, step)),
                QString::fromStdString(FormatTime(s.end - s.start, step)));
  t += s.version >= 0 ? QStringLiteral("weight version %1").arg(s.version) : QStringLiteral("no weights");
  if (s.live_bytes > 0) t += QStringLiteral("   live memory %1").arg(FormatBytes(s.live_bytes));
  return t;
}

void TimelineModel::Select(std::optional<size_t> i) {
  selected_ = i;
  edges_ = {};
  if (!i) return;
  if (!deps_) deps_ = std::make_unique<OpDependencies>(*index_, chunks_);
  edges_ = deps_->Edges(*i);
}

}  // namespace paci::gui
