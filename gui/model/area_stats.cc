#include "gui/model/area_stats.h"

#include <QStringList>
#include <algorithm>

#include "gui/model/number_format.h"
#include "gui/model/time_axis.h"
#include "proto/ir_names.h"

namespace paci::gui {
namespace {

// Ops of row (stage, lane) that overlap [t0, t1], counted by kind.
void CountRow(const TraceIndex& index, uint32_t stage, ir::Lane lane, double t0, double t1,
              std::array<int64_t, kOpKindSlots>* counts) {
  const auto [lo, hi] = index.Visible(stage, lane, t0, t1);
  for (size_t i = lo; i < hi; ++i) {
    const OpSpan& op = index.op(i);
    const int k = static_cast<int>(op.kind);
    // Visible() may include ops that end before t0 (the prefix max of a measured row) or that are
    // instants at its edges: only ops with time inside the area count.
    if (op.end > t0 && op.start < t1 && k >= 0 && k < kOpKindSlots) ++(*counts)[k];
  }
}

QString CountsText(const std::array<int64_t, kOpKindSlots>& counts) {
  // Compute kinds first, then communication, in the legend's order.
  static const ir::OpKind kOrder[] = {ir::FORWARD,         ir::BACKWARD,       ir::BACKWARD_INPUT,
                                      ir::BACKWARD_WEIGHT, ir::OPTIMIZER_STEP, ir::SEND_ACTIVATION,
                                      ir::RECV_ACTIVATION, ir::SEND_GRAD,      ir::RECV_GRAD};
  QStringList parts;
  for (ir::OpKind k : kOrder) {
    if (counts[k] == 0) continue;
    parts << QStringLiteral("%1 %2").arg(QString::fromStdString(OpKindCode(k)), FormatCount(counts[k]));
  }
  return parts.isEmpty() ? QStringLiteral("no ops") : parts.join(QStringLiteral(" · "));
}

}  // namespace

AreaStats ComputeAreaStats(const TraceIndex& index, uint32_t first_stage, uint32_t last_stage, double t0,
                           double t1) {
  AreaStats out;
  if (t1 < t0) std::swap(t0, t1);
  if (last_stage < first_stage) std::swap(first_stage, last_stage);
  out.t0 = t0;
  out.t1 = t1;
  if (index.stages() == 0) return out;
  last_stage = std::min(last_stage, index.stages() - 1);
  const double span = t1 - t0;
  for (uint32_t s = first_stage; s <= last_stage; ++s) {
    StageAreaStats& st = out.stages.emplace_back();
    st.stage = s;
    st.busy_ns = std::min(span, index.BusyNs(s, ir::LANE_COMPUTE, t0, t1));
    st.bubble_fraction = span > 0 ? 1 - st.busy_ns / span : 0;
    for (int lane = 0; lane < kLanesPerStage; ++lane)
      CountRow(index, s, static_cast<ir::Lane>(lane), t0, t1, &st.ops);
    out.busy_ns += st.busy_ns;
    for (int k = 0; k < kOpKindSlots; ++k) out.ops[k] += st.ops[k];
  }
  const double area = span * static_cast<double>(out.stages.size());
  out.bubble_fraction = area > 0 ? 1 - out.busy_ns / area : 0;
  return out;
}

QString FormatAreaStats(const AreaStats& stats) {
  const double span = stats.t1 - stats.t0;
  const double step = std::max(1.0, span / 1000);
  auto time = [&](double ns) { return QString::fromStdString(FormatTime(ns, step)); };
  QStringList lines;
  lines << QStringLiteral("Selection %1 – %2 (%3), %4 stage%5")
               .arg(time(stats.t0), time(stats.t1), time(span))
               .arg(stats.stages.size())
               .arg(stats.stages.size() == 1 ? "" : "s");
  for (const StageAreaStats& s : stats.stages) {
    lines << QStringLiteral("stage %1: busy %2, bubble %3 %, ops %4")
                 .arg(s.stage)
                 .arg(time(s.busy_ns), FormatPercent(100 * s.bubble_fraction, 1), CountsText(s.ops));
  }
  if (stats.stages.size() > 1) {
    lines << QStringLiteral("all: busy %1, bubble %2 %, ops %3")
                 .arg(time(stats.busy_ns), FormatPercent(100 * stats.bubble_fraction, 1),
                      CountsText(stats.ops));
  }
  return lines.join('\n');
}

}  // namespace paci::gui
