// `paci summary RUN...`: stored runs side by side, one row each: validation loss, tokens/s, time
// per update, max drift and peak memory per stage, and for a prediction the measured run it
// predicts. The main job ends with this table.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/exit_codes.h"
#include "proto/ir_names.h"
#include "store/metric_keys.h"
#include "store/trace_store.h"
#include "study/time_to_accuracy.h"
#include "tools/commands.h"
#include "tools/simulated_runs.h"

namespace paci::cli {
namespace {

struct SummaryFlags {
  std::string db = "paci.db";
  std::vector<int64_t> runs;
  double target_loss = 0;  // 0: the lowest smoothed loss every measured run reaches
};

std::vector<double> TrainLoss(const std::vector<ir::UpdateMetric>& updates) {
  std::vector<double> loss;
  for (const ir::UpdateMetric& u : updates) loss.push_back(u.loss());
  return loss;
}

// Training loss smoothed as every time-to-target in the project is (study/time_to_accuracy.h).
std::vector<double> Smoothed(const std::vector<ir::UpdateMetric>& updates) {
  return study::TrailingMeanLoss(TrainLoss(updates));
}

// Wall time (s) of the first update that reaches target (study::FirstIndexReaching); NaN if never.
double TimeToLoss(const store::RunData& r, double target) {
  const std::optional<size_t> i = study::FirstIndexReaching(TrainLoss(r.updates), target);
  return i ? static_cast<double>(r.updates[*i].wall_ns()) / 1e9 : NAN;
}

// Time to a target loss per measured run, and each run's speed-up over the fastest flush run.
void PrintTimeToLoss(const std::vector<store::RunData>& runs, double target) {
  std::vector<const store::RunData*> measured;
  for (const auto& r : runs)
    if (r.record.info.kind == store::RunKind::kMeasured && !r.updates.empty()) measured.push_back(&r);
  if (measured.empty()) return;
  if (target <= 0) {
    for (const auto* r : measured) {
      const std::vector<double> s = Smoothed(r->updates);
      target = std::max(target, *std::min_element(s.begin(), s.end()));
    }
  }
  double best_flush = NAN;
  for (const auto* r : measured) {
    const double t = TimeToLoss(*r, target);
    if (IsFlushSchedule(r->record.info.spec.kind()) && !std::isnan(t) && !(t >= best_flush)) best_flush = t;
  }
  fmt::print("\ntime to training loss {:.4f} (smoothed over {} updates):\n", target,
             study::kLossSmoothingWindow);
  for (const auto* r : measured) {
    const double t = TimeToLoss(*r, target);
    fmt::print("{:>4} {:<26} {:>9} {}\n", r->record.id, r->record.info.name.substr(0, 26),
               std::isnan(t) ? "never" : fmt::format("{:.1f} s", t),
               std::isnan(t) || std::isnan(best_flush)
                   ? std::string()
                   : fmt::format("{:.2f}x vs fastest flush", best_flush / t));
  }
}

std::string Metric(const store::RunData& r, std::string_view key, const char* format, double scale = 1.0) {
  auto it = r.metrics.find(std::string(key));
  if (it == r.metrics.end() || std::isnan(it->second)) return "-";
  return fmt::format(fmt::runtime(format), it->second * scale);
}

// "2,2,1,0" from key_stage0, key_stage1, ...; "max 2" when only the maximum over stages is
// stored (sweep points).
std::string PerStage(const store::RunData& r, std::string_view key, const char* format, double scale) {
  if (!r.metrics.count(store::metric::PerStageKey(key, 0)) && r.metrics.count(std::string(key))) {
    return "max " + Metric(r, key, format, scale);
  }
  std::vector<std::string> parts;
  for (uint32_t s = 0; s < r.record.info.spec.stages(); ++s) {
    parts.push_back(Metric(r, store::metric::PerStageKey(key, s), format, scale));
  }
  return fmt::format("{}", fmt::join(parts, ","));
}

template <typename T>
std::string OrDash(const std::optional<T>& v) {
  return v ? fmt::format("{}", *v) : "-";
}

// A learning rate as configured (stored from a float: 0.0010000000474974513 reads 0.001).
std::string Lr(const std::optional<double>& lr) { return lr ? fmt::format("{:.4g}", *lr) : "-"; }

std::string Predicts(store::TraceStore& db, int64_t id) {
  Result<std::vector<std::pair<int64_t, int64_t>>> links = db.LinksOf(id);
  if (!links.ok()) return "";
  for (const auto& [pred, meas] : *links)
    if (pred == id) return fmt::format("predicts {}", meas);
  return "";
}

void RunSummary(const SummaryFlags& f) {
  Result<store::TraceStore> db = OpenStoreForReading(f.db);
  if (!db.ok()) Fail(kExitBadInput, "--db: " + db.status().message());
  fmt::print("{:>4} {:<9} {:<26} {:>4} {:>8} {:>6} {:>8} {:>10} {:>12}  {:<16} {:<30} {}\n", "run", "kind",
             "name", "K", "lr", "seed", "val loss", "tokens/s", "ms/update", "max drift/stage",
             "peak MiB/stage", "");
  std::vector<store::RunData> loaded;
  for (int64_t id : f.runs) {
    // Metrics and updates are enough: no op is read or re-simulated.
    Result<store::RunData> r = db->LoadRunWithoutOps(id);
    if (!r.ok()) Fail(kExitBadInput, fmt::format("run {}: {}", id, r.status().message()));
    loaded.push_back(std::move(*r));
  }
  for (const store::RunData& run : loaded) {
    const store::RunData* r = &run;
    const int64_t id = run.record.id;
    namespace m = store::metric;
    const store::RunConfig& c = r->record.info.config;
    fmt::print("{:>4} {:<9} {:<26} {:>4} {:>8} {:>6} {:>8} {:>10} {:>12}  {:<16} {:<30} {}\n", id,
               store::RunKindName(r->record.info.kind), r->record.info.name.substr(0, 26), OrDash(c.accum),
               Lr(c.lr), OrDash(c.seed), Metric(*r, m::kValLoss, "{:.4f}"),
               Metric(*r, m::kTokensPerS, "{:.0f}"), Metric(*r, m::kTimePerUpdateMs, "{:.2f}"),
               PerStage(*r, m::kMaxDrift, "{:.0f}", 1.0),
               PerStage(*r, m::kPeakMemoryBytes, "{:.2f}", 1.0 / (1 << 20)), Predicts(*db, id));
  }
  PrintTimeToLoss(loaded, f.target_loss);
}

}  // namespace

void AddSummaryCommand(CLI::App& app) {
  auto f = std::make_shared<SummaryFlags>();
  CLI::App* cmd = app.add_subcommand("summary", "Stored runs side by side: loss, speed, drift, memory");
  cmd->add_option("runs", f->runs, "run ids")->required();
  cmd->add_option("--db", f->db, "trace store")->capture_default_str();
  cmd->add_option("--target-loss", f->target_loss,
                  "training loss for time-to-accuracy (default: the lowest every measured run reaches)");
  cmd->callback([f] { RunSummary(*f); });
}

}  // namespace paci::cli
