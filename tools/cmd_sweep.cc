// `paci sweep`: simulate a grid of configurations (schedules x stages x K x run lengths) on all
// cores, write the rows as CSV or JSON, and recommend the fastest schedule and K per stage count
// under a per-stage memory budget and a drift limit. With --loss-curve and --target-loss it also
// reports time to accuracy: updates needed (from the curve) x simulated time per update. With
// --loss-curves STUDY.db it ranks a study's configurations (schedule, P, K, lr) by predicted time
// to --target-loss: tokens to the target over seeds (measured) at the steady-state time per update
// (simulated under --cost or the model flags), and says why each ranks where it does.
// Exit codes: 0 ok, 2 bad flags or input, 1 I/O failure.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "proto/exit_codes.h"
#include "proto/ir_names.h"
#include "sched/limits.h"
#include "sim/sweep.h"
#include "sim/update_timing.h"
#include "store/metric_keys.h"
#include "store/trace_store.h"
#include "study/study_ranking.h"
#include "study/time_to_accuracy.h"
#include "tools/commands.h"
#include "tools/model_flags.h"
#include "tools/sim_flags.h"
#include "tools/spec_flags.h"
#include "tools/staleness_flags.h"
#include "tools/sweep_output.h"

namespace paci::cli {
namespace {

struct SweepFlags {
  std::string schedules = "paci,1f1b-flush", stages, accum = "8", microbatches, updates;
  uint32_t chunks = 2;
  unsigned threads = 0;
  CostFlags cost;
  ModelFlags model;
  std::string output, format;
  double memory_budget_gb = 0;
  int64_t max_drift = -1;
  std::vector<std::string> loss_curves;
  std::string study;  // --loss-curves STUDY.db
  double target_loss = NAN;
  uint64_t tta_updates = 32;
  std::string db = "paci.db";
  bool no_db = false;
};

template <typename T>
std::vector<T> RangeOrFail(const std::string& flag, const std::string& text) {
  Result<std::vector<uint64_t>> r = sim::ParseRange(text);
  if (!r.ok()) Fail(kExitBadInput, flag + ": " + r.status().message());
  std::vector<T> out;
  for (uint64_t v : *r) {
    if (v > 1000000) Fail(kExitBadInput, flag + ": " + std::to_string(v) + " is too large");
    out.push_back(static_cast<T>(v));
  }
  return out;
}

// The work estimate, before anything runs: the grid's P x V x N summed over its points, within
// kMaxSweepStageMicroBatches (sched/limits.h), so that a typo such as --stages 2..100000 is refused.
void CheckSweepWork(const sim::SweepGrid& g) {
  const std::vector<uint64_t> lengths = g.microbatches.empty() ? std::vector<uint64_t>{0} : g.microbatches;
  double work = 0;
  for (ir::ScheduleKind kind : g.schedules)
    for (uint32_t P : g.stages)
      for (uint32_t K : g.accums)
        for (uint64_t N : lengths) {
          // A point the spec refuses is not simulated: it costs nothing.
          if (Result<ir::PipelineSpec> s = sim::SweepSpec(kind, P, K, N, g.chunks); s.ok()) {
            double n = static_cast<double>(s->total_microbatches());
            // The steady state adds runs of R and 2R updates.
            if (g.steady_state) n += 3.0 * static_cast<double>(sim::SteadyStateUpdates(*s) * K);
            work += static_cast<double>(P) * s->chunks() * n;
          }
        }
  if (work > static_cast<double>(kMaxSweepStageMicroBatches))
    Fail(kExitBadInput,
         fmt::format(
             "--schedules/--stages/--accum/--microbatches: the grid simulates {:.3g} stage micro-batches, "
             "beyond the limit kMaxSweepStageMicroBatches = {} (sched/limits.h); narrow the ranges",
             work, kMaxSweepStageMicroBatches));
}

sim::SweepGrid GridFromFlags(const SweepFlags& f) {
  sim::SweepGrid g;
  std::string_view rest = f.schedules;
  while (!rest.empty()) {
    const size_t comma = std::min(rest.find(','), rest.size());
    const std::string name(rest.substr(0, comma));
    if (name == "all") {
      for (const std::string& n : AllScheduleNames()) g.schedules.push_back(*ParseScheduleName(n));
    } else {
      Result<ScheduleVariant> v = ScheduleVariantFromFlag(name, "--schedules");
      if (!v.ok()) Fail(kExitBadInput, v.status().message());
      g.schedules.push_back(*ParseScheduleName(v->schedule));
      g.staleness.resize(g.schedules.size());
      g.staleness.back() = v->staleness;
    }
    rest = comma < rest.size() ? rest.substr(comma + 1) : std::string_view{};
  }
  if (f.stages.empty()) Fail(kExitBadInput, "--stages: required (e.g. 8, 2..32, 4,8,16)");
  g.stages = RangeOrFail<uint32_t>("--stages", f.stages);
  g.accums = RangeOrFail<uint32_t>("--accum", f.accum);
  if (!f.microbatches.empty()) g.microbatches = RangeOrFail<uint64_t>("--microbatches", f.microbatches);
  if (!f.updates.empty()) g.updates = RangeOrFail<uint64_t>("--updates", f.updates);
  // The one reading of the run length (spec_flags.h), checked for every K x N of the grid.
  for (uint32_t K : g.accums)
    for (uint64_t N : g.microbatches.empty() ? std::vector<uint64_t>{0} : g.microbatches)
      for (uint64_t U : g.updates.empty() ? std::vector<uint64_t>{0} : g.updates)
        if (Result<uint64_t> u = UpdatesFromFlags(K, N, U); !u.ok())
          Fail(kExitBadInput, u.status().message());
  if (f.chunks < 2) Fail(kExitBadInput, "--chunks: interleaved-1f1b needs at least 2");
  g.chunks = f.chunks;
  // No run length asked for: each point's steady state, beside its short run (fill and drain).
  g.steady_state = g.microbatches.empty() && g.updates.empty();
  g.staleness.resize(g.schedules.size());
  for (size_t k = 0; k < g.schedules.size(); ++k)
    if (g.staleness[k].on()) {
      // Refused where it applies to no point: at the most stages and the fewest micro-batches per
      // update the grid has, the drift and the gradient staleness are the largest.
      Result<ir::PipelineSpec> spec =
          sim::SweepSpec(g.schedules[k], g.stages.back(), g.accums.front(), 0, g.chunks);
      if (!spec.ok()) continue;  // the grid's rows say why
      if (Status st = StalenessAppliesTo(g.staleness[k], *spec, "--schedules"); !st.ok())
        Fail(kExitBadInput, st.message());
    }
  CheckSweepWork(g);
  return g;
}

std::string Label(const sim::SweepRow& r) {
  return fmt::format("{} P={} K={}{}", SweepVariant(r), r.stages, r.accum,
                     r.kind == ir::INTERLEAVED_1F1B ? fmt::format(" V={}", r.chunks) : "");
}

// Loss curve for each schedule: "FILE" for all, or "SCHEDULE=FILE" (repeatable).
std::map<std::string, study::LossCurve> CurvesOrFail(const SweepFlags& f) {
  std::map<std::string, study::LossCurve> curves;
  for (const std::string& spec : f.loss_curves) {
    // "paci+rewind=1=FILE": a variant's own '=' comes before the file's.
    size_t eq = spec.find('=');
    if (eq != std::string::npos && spec.substr(0, eq).find('+') != std::string::npos &&
        spec.find('=', eq + 1) != std::string::npos)
      eq = spec.find('=', eq + 1);
    const std::string key = eq == std::string::npos ? "*" : spec.substr(0, eq);
    const std::string path = eq == std::string::npos ? spec : spec.substr(eq + 1);
    if (key != "*") {
      Result<ScheduleVariant> v = ParseScheduleVariant(key);
      if (!v.ok() || !ParseScheduleName(v->schedule))
        Fail(kExitBadInput, "--loss-curve: unknown schedule '" + key + "'");
    }
    Result<study::LossCurve> c = study::LoadLossCurveCsv(path);
    if (!c.ok()) Fail(kExitBadInput, "--loss-curve: " + c.status().message());
    curves[key] = *c;
  }
  return curves;
}

// Time to accuracy of every successful row, ranked per stage count.
std::vector<study::TtaEntry> TimeToAccuracy(const SweepFlags& f, const std::vector<sim::SweepRow>& rows,
                                            const sim::CostForSpec& cost_for) {
  Result<std::vector<study::TtaEntry>> entries =
      study::SweepTimeToAccuracy(rows, CurvesOrFail(f), f.target_loss, cost_for, f.tta_updates, f.threads);
  if (!entries.ok()) Fail(kExitRuntimeError, entries.status().message());
  return *entries;
}

// The default sweep leads with the steady state and gives the short run's figures beside it;
// with a run length asked for, the table is that run's.
void PrintTable(const std::vector<sim::SweepRow>& rows) {
  const bool steady =
      std::any_of(rows.begin(), rows.end(), [](const sim::SweepRow& r) { return r.has_steady(); });
  if (steady) {
    fmt::print(
        "steady state: the difference between runs of R and 2R updates (fill and drain cancel); "
        "run: the N micro-batches simulated (fill and drain included)\n");
    fmt::print("{:<28} {:>7} {:>14} {:>8} {:>5} {:>12} {:>8} {:>12} {:>12} {:>9} {:>10}\n", "configuration",
               "N", "steady_mb/s", "steady", "R", "run_mb/s", "run", "makespan_ms", "peak_mem_MiB",
               "max_drift", "mean_drift");
    fmt::print("{:<28} {:>7} {:>14} {:>8} {:>5} {:>12} {:>8}\n", "", "", "", "bubble", "", "", "bubble");
  } else {
    fmt::print("{:<28} {:>7} {:>12} {:>14} {:>8} {:>12} {:>9} {:>10}\n", "configuration", "N", "makespan_ms",
               "microbatch/s", "bubble", "peak_mem_MiB", "max_drift", "mean_drift");
  }
  for (const sim::SweepRow& r : rows) {
    if (!r.ok()) continue;
    if (steady)
      fmt::print(
          "{:<28} {:>7} {:>14.6g} {:>8.4f} {:>5} {:>12.6g} {:>8.4f} {:>12.6g} {:>12.1f} {:>9} {:>10.4f}\n",
          Label(r), r.microbatches, r.steady_throughput_microbatches_per_s, r.steady_bubble_fraction,
          r.steady_updates, r.throughput_microbatches_per_s, r.bubble_fraction, r.makespan_ns / 1e6,
          r.peak_memory_bytes / 1048576.0, r.max_drift, r.mean_drift);
    else
      fmt::print("{:<28} {:>7} {:>12.6g} {:>14.6g} {:>8.4f} {:>12.1f} {:>9} {:>10.4f}\n", Label(r),
                 r.microbatches, r.makespan_ns / 1e6, r.throughput_microbatches_per_s, r.bubble_fraction,
                 r.peak_memory_bytes / 1048576.0, r.max_drift, r.mean_drift);
  }
}

void PrintRecommendations(const std::vector<sim::SweepRow>& rows, const sim::SweepLimits& limits) {
  std::string within;
  if (limits.memory_budget_bytes)
    within += fmt::format(" memory <= {:.6g} GiB/stage", *limits.memory_budget_bytes / 1073741824.0);
  if (limits.max_drift) within += fmt::format(" drift <= {}", *limits.max_drift);
  const bool steady =
      std::any_of(rows.begin(), rows.end(), [](const sim::SweepRow& r) { return r.has_steady(); });
  fmt::print("recommendation (best {}throughput{}):\n", steady ? "steady-state " : "",
             within.empty() ? "" : "," + within);
  auto line = [](const char* what, const std::optional<sim::SweepRow>& r) {
    if (!r) return fmt::format("  {:<10} none fits\n", what);
    const double tokens = r->has_steady() ? r->steady_tokens_per_s : r->tokens_per_s;
    return fmt::format("  {:<10} {:<28} {:.6g} micro-batches/s{}  peak {:.1f} MiB  max drift {}\n", what,
                       Label(*r), r->RankedThroughput(),
                       tokens > 0 ? fmt::format(" ({:.6g} tokens/s)", tokens) : "",
                       r->peak_memory_bytes / 1048576.0, r->max_drift);
  };
  for (const sim::Recommendation& rec : sim::Recommend(rows, limits)) {
    fmt::print(" P={}\n{}{}", rec.stages, line("best", rec.best), line("runner-up", rec.runner_up));
  }
}

void PrintTta(const std::vector<sim::SweepRow>& rows, const std::vector<study::TtaEntry>& tta,
              double target) {
  fmt::print("time to loss <= {:g}:\n", target);
  for (size_t i = 0; i < rows.size(); ++i) {
    const study::TtaEntry& e = tta[i];
    if (!rows[i].ok()) continue;
    if (!e.seconds_to_target) {
      fmt::print("  {:<28} {}\n", Label(rows[i]), e.updates_to_target ? "-" : "not reached (or no curve)");
      continue;
    }
    fmt::print(
        "  {:<28} {:>8} updates x {:.6g} s = {:.6g} s{}\n", Label(rows[i]), *e.updates_to_target,
        e.timing.period_s, *e.seconds_to_target,
        e.speedup_vs_best_flush ? fmt::format("   {:.3f}x vs best flush", *e.speedup_vs_best_flush) : "");
  }
}

void Write(const std::string& content, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) Fail(kExitRuntimeError, "-o: cannot write " + path);
}

// A sweep point's metrics under the keys every run uses; drift and memory are the maximum over
// stages (the keys without a _stageN suffix), as a sweep row holds them.
Status StoreSweepMetrics(store::RunWriter& w, const sim::SweepRow& r) {
  namespace m = store::metric;
  const double updates = static_cast<double>(r.optimizer_updates);
  const std::pair<std::string_view, double> metrics[] = {
      {m::kMakespanNs, static_cast<double>(r.makespan_ns)},
      {m::kThroughputMicrobatchesPerS, r.throughput_microbatches_per_s},
      {m::kBubbleFraction, r.bubble_fraction},
      {m::kUpdates, updates},
      {m::kTimePerUpdateMs, static_cast<double>(r.makespan_ns) / 1e6 / std::max(1.0, updates)},
      {m::kPeakMemoryBytes, static_cast<double>(r.peak_memory_bytes)},
      {m::kMaxDrift, static_cast<double>(r.max_drift)},
      {m::kMeanDrift, r.mean_drift},
      {m::kWeightVersions, static_cast<double>(r.weight_versions)}};
  for (const auto& [key, value] : metrics) PACI_RETURN_IF_ERROR(w.SetMetric(key, value));
  // Unknown (0) without a model: unset reads "-" rather than a speed of zero.
  if (r.tokens_per_s > 0) PACI_RETURN_IF_ERROR(w.SetMetric(m::kTokensPerS, r.tokens_per_s));
  return Status::Ok();
}

// Each possible point becomes a predicted run holding the sweep's metrics (no op trace: `paci
// simulate` with the same flags records one), so sweeps sit beside the runs they inform.
void StoreRows(const SweepFlags& f, const std::vector<sim::SweepRow>& rows,
               const sim::CostForSpec& cost_for) {
  if (f.no_db) return;
  Result<store::TraceStore> db = store::TraceStore::Open(f.db);
  if (!db.ok()) Fail(kExitBadInput, "--db: " + db.status().message());
  size_t stored = 0;
  for (const sim::SweepRow& r : rows) {
    if (!r.ok()) continue;
    store::RunInfo info;
    info.kind = store::RunKind::kPredicted;
    info.name = fmt::format("sweep: {} P={} K={}", SweepVariant(r), r.stages, r.accum);
    Result<ir::PipelineSpec> spec = sim::SweepSpec(r.kind, r.stages, r.accum, r.microbatches, r.chunks);
    if (!spec.ok()) continue;  // not reached: the row simulated this spec
    info.spec = *spec;
    Result<ir::CostModel> cost = cost_for(*spec);
    if (cost.ok() && r.staleness.on() && !r.stage_costs.empty()) {  // the compensated costs it ran
      cost->clear_stages();
      for (const ir::StageCost& c : r.stage_costs) *cost->add_stages() = c;
    }
    if (cost.ok()) info.cost_model = *cost;
    info.description = "sweep point: metrics only";
    info.config.device = "simulator";
    Result<store::RunWriter> w = db->BeginRun(info);
    if (!w.ok()) Fail(kExitRuntimeError, "--db: " + w.status().message());
    Status st = StoreSweepMetrics(*w, r);
    if (st.ok()) st = w->Finish(store::RunStatus::kComplete);
    if (!st.ok()) Fail(kExitRuntimeError, "--db: " + st.message());
    ++stored;
  }
  std::fprintf(stderr, "paci sweep: stored %zu predicted runs in %s\n", stored, f.db.c_str());
}

// The grid's own flags do not apply when the configurations come from a study.
void RefuseGridFlagsWithStudy(const SweepFlags& f) {
  const SweepFlags defaults;
  const std::pair<const char*, bool> given[] = {{"--schedules", f.schedules != defaults.schedules},
                                                {"--stages", !f.stages.empty()},
                                                {"--accum", f.accum != defaults.accum},
                                                {"--microbatches", !f.microbatches.empty()},
                                                {"--updates", !f.updates.empty()},
                                                {"--loss-curve", !f.loss_curves.empty()},
                                                {"--output", !f.output.empty()},
                                                {"--memory-budget-gb", f.memory_budget_gb > 0},
                                                {"--max-drift", f.max_drift >= 0},
                                                // the ranking predicts the steady state's time per
                                                // update, not one of a simulated run's length
                                                {"--tta-updates", f.tta_updates != defaults.tta_updates}};
  for (const auto& [flag, on] : given)
    if (on)
      Fail(kExitBadInput,
           std::string(flag) + ": does not apply with --loss-curves (the study's configurations are ranked)");
  if (std::isnan(f.target_loss)) Fail(kExitBadInput, "--target-loss: required with --loss-curves");
  if (Status st = study::CheckTargetLoss(f.target_loss); !st.ok()) Fail(kExitBadInput, st.message());
}

// Prints one configuration's line of the ranking: its time and tokens with intervals, and why.
void PrintRank(int rank, const study::StudyRank& r, const study::StudyRanking& all) {
  const study::StudyConfiguration& c = *r.config;
  std::string why;
  if (r.vs_best_flush) {
    why = fmt::format(" | vs {} : {:.2f}x tokens, {:.2f}x throughput -> {:.2f}x speed-up",
                      all.ranks[*all.best_flush].config->label, r.vs_best_flush->tokens,
                      r.vs_best_flush->throughput, r.vs_best_flush->speedup);
    if (const auto& p = r.vs_best_flush->paired)
      why +=
          fmt::format(" (paired by seed: {:.2f}x [{:.2f}, {:.2f}], {} seeds)", p->mean, p->lo, p->hi, p->n);
  } else if (all.best_flush) {
    why = " | the best flush baseline";
  }
  fmt::print(
      "  {:>2}  {:<52} {:.4g} s [{:.4g}, {:.4g}]  ({:.4g} tokens [{:.4g}, {:.4g}] at {:.4g} tokens/s){}\n",
      rank, c.label, *r.time.seconds, *r.time.lo, *r.time.hi, *r.tokens.mean, *r.tokens.lo, *r.tokens.hi,
      r.rate, why);
}

// Ranks a study's configurations by predicted time to the target loss (study/study_ranking.h) and
// says why.
void RankStudy(const SweepFlags& f, const sim::CostForSpec& cost_for) {
  RefuseGridFlagsWithStudy(f);
  Result<store::TraceStore> db =
      store::TraceStore::Open(f.study, store::OpenOptions{.create_if_missing = false, .read_only = true});
  if (!db.ok()) Fail(kExitBadInput, "--loss-curves: " + db.status().message());
  Result<std::vector<study::StudyConfiguration>> configs = study::LoadStudy(*db);
  if (!configs.ok()) Fail(kExitBadInput, "--loss-curves: " + configs.status().message());
  if (configs->empty())
    Fail(kExitBadInput,
         "--loss-curves: " + f.study + " holds no complete training runs with configuration columns");
  Result<study::StudyRanking> ranking = study::RankStudy(*configs, f.target_loss, cost_for);
  if (!ranking.ok()) Fail(kExitBadInput, ranking.status().message());
  fmt::print(
      "time to train loss <= {:g} (smoothed over {} updates), from {}: updates to the target measured "
      "(geometric mean over seeds, 95 % t-interval on the logs) x steady-state time per update predicted at "
      "the target scale\n",
      f.target_loss, study::kLossSmoothingWindow, f.study);
  int rank = 0;
  for (const study::StudyRank& r : ranking->ranks) {
    if (r.time.seconds)
      PrintRank(++rank, r, *ranking);
    else
      fmt::print("   -  {:<52} not reached by every seed ({} of {})\n", r.config->label, r.tokens.reached,
                 r.tokens.seeds);
  }
  const std::vector<study::StudyRank>& ranks = ranking->ranks;
  if (!ranks.empty() && ranks.front().time.seconds)
    fmt::print(
        "recommendation: {} (fewest predicted seconds to the target; intervals overlapping the next ones "
        "mean the seeds cannot separate them)\n",
        ranks.front().config->label);
  else
    fmt::print("recommendation: none: no configuration reached loss {:g} on every seed\n", f.target_loss);
}

void Run(const SweepFlags& f) {
  if (!f.study.empty()) {
    Result<ir::CostModel> cost = CostFromFlags(f.cost);
    if (!cost.ok()) Fail(kExitBadInput, cost.status().message());
    std::optional<sim::ModelCostSetup> setup;
    if (ModelFlagsGiven(f.model)) {
      Result<sim::ModelCostSetup> s = ModelSetupFromFlags(f.model, &f.cost);
      if (!s.ok()) Fail(kExitBadInput, s.status().message());
      setup = *s;
    }
    RankStudy(f, [&](const ir::PipelineSpec& spec) -> Result<ir::CostModel> {
      return setup ? sim::CostModelForSpec(*setup, spec) : Result<ir::CostModel>(*cost);
    });
    return;
  }
  sim::SweepGrid grid = GridFromFlags(f);
  Result<ir::CostModel> cost = CostFromFlags(f.cost);
  if (!cost.ok()) Fail(kExitBadInput, cost.status().message());
  sim::CostForSpec cost_for = [&cost](const ir::PipelineSpec&) -> Result<ir::CostModel> { return *cost; };
  std::optional<sim::ModelCostSetup> setup;
  if (ModelFlagsGiven(f.model)) {
    // Each point gets its own layer split (it depends on P, V and the schedule's in-flight depth).
    Result<sim::ModelCostSetup> s = ModelSetupFromFlags(f.model, &f.cost);
    if (!s.ok()) Fail(kExitBadInput, s.status().message());
    setup = *s;
    grid.largest_layer = [&setup](const ir::PipelineSpec& spec, StalenessKind kind) {
      Result<std::vector<sim::LayerSlice>> slices = sim::SlicesForSpec(*setup, spec);
      return slices.ok() ? sim::LargestEstimatedLayer(setup->layers, *slices, spec.stages(), kind)
                         : std::vector<uint64_t>{};
    };
    cost_for = [&setup, &cost](const ir::PipelineSpec& spec) -> Result<ir::CostModel> {
      Result<ir::CostModel> c = sim::CostModelForSpec(*setup, spec);
      if (c.ok()) *c->mutable_jitter() = cost->jitter();
      return c;
    };
  }
  if (f.memory_budget_gb < 0) Fail(kExitBadInput, "--memory-budget-gb: must be >= 0");
  const bool tta = !f.loss_curves.empty();
  if (tta && std::isnan(f.target_loss)) Fail(kExitBadInput, "--target-loss: required with --loss-curve");
  if (tta)
    if (Status st = study::CheckTargetLoss(f.target_loss); !st.ok()) Fail(kExitBadInput, st.message());
  std::string format = f.format;
  if (format.empty()) format = f.output.size() > 5 && f.output.ends_with(".json") ? "json" : "csv";

  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<sim::SweepRow> rows =
      setup ? sim::RunSweep(grid, cost_for, f.threads) : sim::RunSweep(grid, *cost, f.threads);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::vector<study::TtaEntry> entries =
      tta ? TimeToAccuracy(f, rows, cost_for) : std::vector<study::TtaEntry>{};

  uint64_t ops = 0, failed = 0;
  for (const sim::SweepRow& r : rows) {
    ops += r.ops;
    failed += r.ok() ? 0 : 1;
  }
  if (f.output.empty() || f.output == "-") {
    if (f.output == "-")
      std::fputs(FormatSweepRows(rows, entries, format).c_str(), stdout);
    else
      PrintTable(rows);
  } else {
    Write(FormatSweepRows(rows, entries, format), f.output);
  }
  std::fprintf(stderr, "paci sweep: %zu configurations (%llu impossible, skipped) in %.3f s, %.3g M ops/s\n",
               rows.size(), static_cast<unsigned long long>(failed), wall, wall > 0 ? ops / wall / 1e6 : 0.0);
  sim::SweepLimits limits;
  if (f.memory_budget_gb > 0)
    limits.memory_budget_bytes = static_cast<uint64_t>(f.memory_budget_gb * 1073741824.0);
  if (f.max_drift >= 0) limits.max_drift = static_cast<uint32_t>(f.max_drift);
  StoreRows(f, rows, cost_for);
  if (f.output == "-") return;  // machine-readable stdout: no trailing prose
  PrintRecommendations(rows, limits);
  if (tta) PrintTta(rows, entries, f.target_loss);
}

}  // namespace

void AddSweepCommand(CLI::App& app) {
  auto flags = std::make_shared<SweepFlags>();
  CLI::App* cmd = app.add_subcommand("sweep", "Simulate a grid of schedules x stages x K and recommend one");
  cmd->add_option("--schedules", flags->schedules,
                  "comma-separated schedule names or variants with a staleness compensation "
                  "(paci+rewind=1, rows of their own), or 'all'")
      ->capture_default_str();
  cmd->add_option("--stages,-P", flags->stages, "stage counts: 8, 4,8,16, 2..32, 2..64:pow2, 2..32:2");
  cmd->add_option("--accum,-K", flags->accum,
                  "micro-batches per optimizer update K (flush: the iteration M = K), as a range")
      ->capture_default_str();
  cmd->add_option(
      "--microbatches,-M", flags->microbatches,
      "run lengths in micro-batches, whole updates of every K, as a range (default 8 x max(P, K), "
      "shown beside each point's steady state)");
  cmd->add_option("--updates,--iterations", flags->updates,
                  "run lengths in optimizer updates (N x K micro-batches), as a range");
  cmd->add_option("--chunks,-V", flags->chunks, "virtual chunks for interleaved-1f1b")->capture_default_str();
  cmd->add_option("--threads", flags->threads, "worker threads (0 = all cores)")->capture_default_str();
  AddCostFlags(cmd, flags->cost);
  AddModelFlags(cmd, &flags->model);
  cmd->add_option("-o,--output", flags->output, "write rows here (CSV or JSON; '-' = stdout)");
  cmd->add_option("--format", flags->format, "csv or json (default: from -o's extension, else csv)")
      ->check(CLI::IsMember({"csv", "json"}));
  cmd->add_option("--memory-budget-gb", flags->memory_budget_gb,
                  "per-stage memory budget for the recommendation (GiB)");
  cmd->add_option("--max-drift", flags->max_drift, "largest drift the recommendation may have");
  cmd->add_option("--loss-curve", flags->loss_curves,
                  "CSV update,loss for time to accuracy: FILE (all schedules) or SCHEDULE=FILE (repeatable)");
  cmd->add_option("--loss-curves", flags->study,
                  "a `paci study` store: rank its configurations by predicted time to --target-loss");
  cmd->add_option("--target-loss", flags->target_loss, "target loss for time to accuracy");
  cmd->add_option("--tta-updates", flags->tta_updates, "updates simulated to fit time per update")
      ->capture_default_str();
  cmd->add_option("--db", flags->db, "trace store that receives one predicted run per point")
      ->capture_default_str();
  cmd->add_flag("--no-db", flags->no_db, "do not store the points");
  cmd->callback([flags] { Run(*flags); });
}

}  // namespace paci::cli
