#include "tools/pipeline_metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "sched/weight_version_analysis.h"
#include "store/metric_keys.h"

namespace paci::cli {

void PrintingSink::OnUpdate(const ir::UpdateMetric& m) {
  if (print_) {
    const std::string val = std::isnan(m.val_loss()) ? "" : fmt::format(" | val {:.4f}", m.val_loss());
    std::printf("update %5llu | loss %.4f | lr %.2e%s | %.1f s\n",
                static_cast<unsigned long long>(m.update()), m.loss(), m.learning_rate(), val.c_str(),
                static_cast<double>(m.wall_ns()) / 1e9);
    std::fflush(stdout);
  }
  if (inner_) inner_->OnUpdate(m);
}

namespace {

// A metric that cannot be stored leaves the run's evidence incomplete: say so, keep training's result.
void SetMetricOrWarn(store::RunWriter* w, const std::string& key, double value) {
  const Status st = w->SetMetric(key, value);
  if (!st.ok())
    std::fprintf(stderr, "paci train: --db: metric %s not stored: %s\n", key.c_str(), st.message().c_str());
}

}  // namespace

void StoreGradientStaleness(store::RunWriter* w, uint32_t stage, const ir::Schedule& schedule) {
  if (!w) return;
  Result<WeightVersionReport> report = AnalyzeWeightVersions(schedule);
  if (!report.ok() || stage >= report->stages.size()) return;
  SetMetricOrWarn(w, store::metric::PerStageKey(store::metric::kGradientStaleness, stage),
                  static_cast<double>(report->stages[stage].max_gradient_staleness));
}

void StoreStageMetrics(store::RunWriter* w, uint32_t stage, const exec::StageReport& r) {
  if (!w) return;
  namespace m = store::metric;
  SetMetricOrWarn(w, m::PerStageKey(m::kPeakMemoryBytes, stage), static_cast<double>(r.peak_bytes));
  SetMetricOrWarn(w, m::PerStageKey(m::kMaxDrift, stage), static_cast<double>(r.max_drift));
  SetMetricOrWarn(w, m::PerStageKey(m::kWeightVersions, stage), r.weight_versions);
  SetMetricOrWarn(w, m::PerStageKey(m::kActivationBytes, stage), static_cast<double>(r.activation_bytes));
}

void StoreRunMetrics(store::RunWriter* w, const exec::TrainConfig& cfg, const exec::PipelineResult& r) {
  const double tokens = static_cast<double>(r.updates.empty() ? 0 : r.updates.back().tokens());
  if (w) {
    namespace m = store::metric;
    SetMetricOrWarn(w, std::string(m::kValLoss), r.val_loss);
    SetMetricOrWarn(w, std::string(m::kTrainLoss), r.updates.empty() ? NAN : r.updates.back().loss());
    SetMetricOrWarn(w, std::string(m::kSeconds), r.seconds);
    // The ops' span where the runtime has one (threads), as the simulator predicts it; else wall time.
    SetMetricOrWarn(w, std::string(m::kMakespanNs),
                    (r.op_span_seconds > 0 ? r.op_span_seconds : r.seconds) * 1e9);
    SetMetricOrWarn(w, std::string(m::kTokensPerS), tokens / r.seconds);
    SetMetricOrWarn(w, std::string(m::kUpdates), static_cast<double>(r.updates.size()));
    SetMetricOrWarn(w, std::string(m::kTimePerUpdateMs),
                    r.seconds * 1e3 / std::max<size_t>(1, r.updates.size()));
  }
  std::printf(
      "trained %zu updates in %.1f s, %.0f tokens/s; final train loss %.4f, val loss %.4f "
      "(uniform: %.4f)\n",
      r.updates.size(), r.seconds, tokens / r.seconds, r.updates.empty() ? NAN : r.updates.back().loss(),
      r.val_loss, std::log(static_cast<double>(cfg.model.vocab_size)));
}

}  // namespace paci::cli
