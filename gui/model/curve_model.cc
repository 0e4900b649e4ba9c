#include "gui/model/curve_model.h"

#include <cmath>

namespace paci::gui {

void CurveModel::addRun(const RunSummary& summary, std::vector<ir::UpdateMetric> updates) {
  runs_.push_back({summary, std::move(updates)});
}

double CurveModel::X(const Run& r, const ir::UpdateMetric& m, CurveAxis axis) {
  if (axis == CurveAxis::kUpdate) return static_cast<double>(m.update());
  const int64_t t0 = r.updates.empty() ? 0 : r.updates.front().wall_ns();
  return (m.wall_ns() - t0) / 1e9;
}

std::vector<CurveSeries> CurveModel::series(CurveAxis axis) const {
  std::vector<CurveSeries> out;
  for (const Run& r : runs_) {
    CurveSeries s;
    s.run_id = r.summary.id;
    s.name = QStringLiteral("#%1 %2").arg(r.summary.id).arg(
        QString::fromStdString(r.summary.name.empty() ? r.summary.schedule : r.summary.name));
    for (const auto& m : r.updates) {
      const double x = X(r, m, axis);
      if (std::isfinite(m.loss())) s.loss.append(QPointF(x, m.loss()));
      if (std::isfinite(m.val_loss())) s.val_loss.append(QPointF(x, m.val_loss()));
    }
    if (s.val_loss.isEmpty() && r.summary.val_loss && std::isfinite(*r.summary.val_loss) && !s.loss.isEmpty()) {
      s.final_val_loss = QPointF(s.loss.back().x(), *r.summary.val_loss);
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::optional<double> CurveModel::timeToTarget(size_t run, double target, CurveAxis axis) const {
  if (run >= runs_.size()) return std::nullopt;
  for (const auto& m : runs_[run].updates) {
    if (std::isfinite(m.loss()) && m.loss() <= target) return X(runs_[run], m, axis);
  }
  return std::nullopt;
}

}  // namespace paci::gui
