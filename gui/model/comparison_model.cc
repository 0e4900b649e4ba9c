#include "gui/model/comparison_model.h"

#include <cmath>

#include "gui/model/number_format.h"

namespace paci::gui {
namespace {

store::RunData ToRunData(const RunTrace& t) {
  store::RunData d;
  d.record.id = t.summary.id;
  d.record.info.spec = t.spec;
  d.ops = t.ops.empty() && t.index ? t.index->Events() : t.ops;
  d.updates = t.updates;
  d.memory = t.memory;
  return d;
}

std::unique_ptr<TimelineModel> TimelineOf(const RunTrace& t) {
  auto index = t.index ? t.index
                       : std::make_shared<const TraceIndex>(TraceIndex::Build(t.ops, t.spec.stages()));
  return std::make_unique<TimelineModel>(index, t.spec.chunks());
}

double Pct(double a, double b) { return b != 0 ? (a - b) / b * 100.0 : 0.0; }

}  // namespace

bool PredictionShouldComeFirst(const RunSummary& x, const RunSummary& y) {
  return x.kind == RunKind::kMeasured && y.kind == RunKind::kPredicted;
}

ComparisonModel::ComparisonModel(const RunTrace& a, const RunTrace& b)
    : a_summary_(a.summary), b_summary_(b.summary), a_(TimelineOf(a)), b_(TimelineOf(b)) {
  cmp_ = store::CompareRuns(ToRunData(a), ToRunData(b));
  for (size_t i = 0; i < cmp_.residuals.size(); ++i) residual_by_id_[cmp_.residuals[i].op_id] = i;
  const size_t stages = std::max(cmp_.a.stages.size(), cmp_.b.stages.size());
  std::vector<double> abs_sum(stages, 0);
  std::vector<int64_t> count(stages, 0);
  for (const auto& r : cmp_.residuals) {
    const int64_t i = a_->index().FindOpId(r.op_id);
    if (i < 0) continue;
    const uint32_t s = a_->index().op(i).stage;
    if (s >= stages) continue;
    abs_sum[s] += std::abs(static_cast<double>(r.duration_residual_ns));
    ++count[s];
  }
  for (size_t s = 0; s < stages; ++s) {
    StageError e;
    e.stage = static_cast<uint32_t>(s);
    if (s < cmp_.a.stages.size()) {
      e.busy_a_ns = cmp_.a.stages[s].busy_ns;
      e.bubble_a = cmp_.a.stages[s].bubble_fraction;
    }
    if (s < cmp_.b.stages.size()) {
      e.busy_b_ns = cmp_.b.stages[s].busy_ns;
      e.bubble_b = cmp_.b.stages[s].bubble_fraction;
    }
    e.busy_error_pct = Pct(e.busy_a_ns, e.busy_b_ns);
    e.ops = count[s];
    e.mean_abs_duration_residual_ns = count[s] ? abs_sum[s] / count[s] : 0;
    stages_.push_back(e);
  }
}

int64_t ComparisonModel::extentNs() const {
  return std::max(a_->index().makespan(), b_->index().makespan());
}

const store::OpResidual* ComparisonModel::residual(uint64_t op_id) const {
  auto it = residual_by_id_.find(op_id);
  return it == residual_by_id_.end() ? nullptr : &cmp_.residuals[it->second];
}

QString ComparisonModel::headline() const {
  QString s = QStringLiteral("makespan A %1 ms, B %2 ms, error %3 %")
                  .arg(FormatFixed(cmp_.a.makespan_ns / 1e6, 3), FormatFixed(cmp_.b.makespan_ns / 1e6, 3),
                       FormatSignedPercent(cmp_.makespan_error_pct, 2));
  if (cmp_.same_ops && cmp_.summary.count == 0) {
    s += QStringLiteral("; no matched ops");
  } else if (cmp_.same_ops) {
    s += QStringLiteral("; %1 ops matched, mean |duration residual| %2 us")
             .arg(FormatCount(static_cast<int64_t>(cmp_.summary.count)),
                  FormatFixed(cmp_.summary.mean_abs_duration_ns / 1e3, 1));
  } else {
    s += QStringLiteral("; no per-op residuals: %1").arg(QString::fromStdString(cmp_.why_no_residuals));
  }
  return s;
}

}  // namespace paci::gui
