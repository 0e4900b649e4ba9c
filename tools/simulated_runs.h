// Simulated runs in the trace store, as every command handles them: the metrics a prediction
// stores (the same keys a measured run stores, store/metric_keys.h), and opening a store for
// reading so that predicted runs kept compactly are re-simulated when a command reads their ops.
#pragma once

#include <algorithm>
#include <cstdio>
#include <string>

#include "proto/status.h"
#include "sim/simulation_result.h"
#include "sim/simulator.h"
#include "store/metric_keys.h"
#include "store/trace_store.h"

namespace paci::cli {

// An existing store (never created), with sim::Replay to materialise its replayed runs.
inline Result<store::TraceStore> OpenExistingStore(const std::string& path) {
  store::OpenOptions options;
  options.create_if_missing = false;
  options.replay = sim::Replay;
  return store::TraceStore::Open(path, options);
}

// The same, for a command that only reads (runs list/show, summary, compare, export): the file is
// never written, so a store in a read-only folder can be read, and an older store is read through a
// migrated private copy instead of being migrated in place (issue 25 item 10).
inline Result<store::TraceStore> OpenStoreForReading(const std::string& path) {
  store::OpenOptions options;
  options.create_if_missing = false;
  options.read_only = true;
  options.replay = sim::Replay;
  Result<store::TraceStore> store = store::TraceStore::Open(path, options);
  if (store.ok() && store->reads_migrated_copy())
    std::fprintf(stderr,
                 "%s: an older store, read through a migrated private copy (the file is unchanged; "
                 "any writing command migrates it once)\n",
                 path.c_str());
  return store;
}

// Stores the simulator's makespan, speed, time per update and per-stage memory and drift.
inline Status StoreSimulationMetrics(store::RunWriter& w, const sim::SimulationResult& r) {
  namespace m = store::metric;
  const double updates = static_cast<double>(r.optimizer_updates);
  const std::pair<std::string_view, double> run_metrics[] = {
      {m::kMakespanNs, static_cast<double>(r.makespan_ns)},
      {m::kThroughputMicrobatchesPerS, r.throughput_microbatches_per_s},
      {m::kBubbleFraction, r.bubble_fraction},
      {m::kUpdates, updates},
      {m::kTimePerUpdateMs, r.makespan_ms() / std::max(1.0, updates)}};
  for (const auto& [key, value] : run_metrics) PACI_RETURN_IF_ERROR(w.SetMetric(key, value));
  // Tokens per second is unknown (0) without a model: leave it unset so that it reads "-".
  if (r.tokens_per_s > 0) PACI_RETURN_IF_ERROR(w.SetMetric(m::kTokensPerS, r.tokens_per_s));
  for (const sim::StageMetrics& s : r.stages) {
    PACI_RETURN_IF_ERROR(
        w.SetMetric(m::PerStageKey(m::kPeakMemoryBytes, s.stage), static_cast<double>(s.peak_memory_bytes)));
    PACI_RETURN_IF_ERROR(w.SetMetric(m::PerStageKey(m::kMaxDrift, s.stage), s.max_drift));
    PACI_RETURN_IF_ERROR(w.SetMetric(m::PerStageKey(m::kMeanDrift, s.stage), s.mean_drift));
    PACI_RETURN_IF_ERROR(w.SetMetric(m::PerStageKey(m::kWeightVersions, s.stage), s.weight_versions));
    PACI_RETURN_IF_ERROR(w.SetMetric(m::PerStageKey(m::kBubbleFraction, s.stage), s.bubble_fraction));
    PACI_RETURN_IF_ERROR(
        w.SetMetric(m::PerStageKey(m::kGradientStaleness, s.stage), s.max_gradient_staleness));
  }
  return Status::Ok();
}

}  // namespace paci::cli
