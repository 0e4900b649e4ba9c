// The names of the scalar results a run stores in the `metrics` table (RunWriter::SetMetric), in
// one place, so writers (simulate, sweep, predict, train) and readers (summary, viewer) agree.
// Units are in the names: _ns, _ms, _bytes, _per_s. Per-stage values use PerStageKey.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace paci::store::metric {

// Every run kind (predicted and measured) stores these.
inline constexpr std::string_view kMakespanNs = "makespan_ns";          // first op start to last op end, simulated or measured
inline constexpr std::string_view kTokensPerS = "tokens_per_s";         // 0 / absent without token counts
inline constexpr std::string_view kTimePerUpdateMs = "time_per_update_ms";
inline constexpr std::string_view kUpdates = "updates";                 // optimizer updates of stage 0
// Per stage (PerStageKey): peak live bytes, largest weight-version drift, weight copies held.
inline constexpr std::string_view kPeakMemoryBytes = "peak_memory_bytes";
inline constexpr std::string_view kMaxDrift = "max_drift";
inline constexpr std::string_view kWeightVersions = "weight_versions";
// Per stage: the most updates between the weights a gradient was computed on and those it updates.
inline constexpr std::string_view kGradientStaleness = "gradient_staleness";

// Predicted runs (simulate, sweep, predict).
inline constexpr std::string_view kBubbleFraction = "bubble_fraction";
inline constexpr std::string_view kThroughputMicrobatchesPerS = "throughput_microbatches_per_s";
inline constexpr std::string_view kMeanDrift = "mean_drift";            // per stage

// Measured runs (train).
inline constexpr std::string_view kValLoss = "val_loss";
inline constexpr std::string_view kTrainLoss = "train_loss";
inline constexpr std::string_view kSeconds = "seconds";
inline constexpr std::string_view kActivationBytes = "activation_bytes"; // per stage

// "max_drift_stage3": the value of `key` for one stage.
inline std::string PerStageKey(std::string_view key, uint32_t stage) {
  return std::string(key) + "_stage" + std::to_string(stage);
}

}  // namespace paci::store::metric
