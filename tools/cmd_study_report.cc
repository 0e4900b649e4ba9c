// `paci study report`: a study's stored runs as CSV and plots. Runs are grouped into
// configurations by the store's configuration columns and setup (study/study_point.h), seeds
// pooled. Files: curves.csv (every run's loss against tokens), bands.csv (mean and spread over
// seeds), final.csv (final validation loss with a 95 % interval and the gap to 1F1B-flush at the
// same lr and tokens per update, paired by seed), tta.csv (with --target-loss: tokens to target,
// and with a cost model the predicted time at the target scale from the simulator's steady-state
// time per update; rate_at_target_scale is that rate in study tokens per second,
// StudyTokensPerSecondAt). Plots (Qt Charts offscreen, plot/): loss vs tokens per lr, loss vs predicted time,
// time-to-accuracy bars, and a K x lr heat map of the gap to flush per schedule.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "proto/exit_codes.h"
#include "proto/ir_names.h"
#include "sim/cost_model_file.h"
#include "store/trace_store.h"
#include "study/loss_curve_study.h"
#include "study/study_configuration.h"
#include "study/study_report.h"
#include "tools/commands.h"
#include "tools/model_flags.h"
#ifdef PACI_HAVE_PLOT
#include "plot/charts.h"
#endif

namespace paci::cli {
namespace {

using study::MeanInterval;
using study::StudyConfiguration;
using study::StudyRun;
using study::VariantName;

struct ReportFlags {
  std::string db = "study.db";
  std::string out;
  double target_loss = 0;  // 0: no tokens-to-target table
  std::string cost;        // cost model at the target scale, for predicted time to accuracy
  ModelFlags model;        // or the model-and-hardware cost model
  bool no_plots = false;
  study::SubGrid grid;  // a sub-grid to report (empty: all)
};

// The configurations in the sub-grid the flags name, with their flush baselines. Nothing selected is
// an error naming the flags.
std::vector<StudyConfiguration> SelectConfigurations(const ReportFlags& f,
                                                     std::vector<StudyConfiguration> all) {
  std::vector<StudyConfiguration> kept = study::SelectSubGrid(f.grid, std::move(all));
  if (kept.empty() && !f.grid.Empty())
    Fail(kExitBadInput,
         "--schedules/--stages/--accum/--lr: no configuration of " + f.db + " is in that sub-grid");
  return kept;
}

// A configuration with its rate at the target scale (StudyTokensPerSecondAt), when a cost model is given.
struct Configuration : StudyConfiguration {
  std::optional<double> steady_tokens_per_s;
};

std::string Csv(const std::string& field) { return "\"" + field + "\""; }
std::string Opt(const std::optional<double>& v) { return v ? fmt::format("{:.6g}", *v) : ""; }

std::ofstream OpenOut(const std::filesystem::path& path) {
  std::ofstream out(path);
  if (!out) Fail(kExitRuntimeError, "--out: cannot write " + path.string());
  return out;
}

// Every complete measured run with the study's columns, grouped; curves.csv written on the way.
std::vector<Configuration> LoadConfigurations(const ReportFlags& f, store::TraceStore& db,
                                              std::ofstream& curves) {
  Result<std::vector<StudyConfiguration>> loaded = study::LoadStudy(db);
  if (!loaded.ok()) Fail(kExitRuntimeError, "--db: " + loaded.status().message());
  std::vector<Configuration> configs;
  curves << "configuration,schedule,P,K,lr,microbatch_size,tokens_per_update,seed,run,update,tokens,train_"
            "loss,val_loss\n";
  for (StudyConfiguration& l : SelectConfigurations(f, std::move(*loaded))) {
    if (l.repeated_runs > 0)
      std::fprintf(stderr, "study report: %s: %d run(s) repeat a seed already counted; left out\n",
                   l.label.c_str(), l.repeated_runs);
    Configuration& c = configs.emplace_back();
    static_cast<StudyConfiguration&>(c) = std::move(l);
    const store::RunConfig& k = c.point.config;
    for (const StudyRun& r : c.runs)
      for (const ir::UpdateMetric& u : r.updates)
        curves << fmt::format("{},{},{},{},{:g},{},{},{},{},{},{},{:.6g},{}\n", Csv(c.label), k.schedule,
                              *k.stages, *k.accum, *k.lr, *k.microbatch_size, *k.tokens_per_update, r.seed,
                              r.id, u.update(), u.tokens(), u.loss(),
                              std::isnan(u.val_loss()) ? "" : fmt::format("{:.6g}", u.val_loss()));
  }
  return configs;
}

void WriteBands(const std::vector<Configuration>& configs, const std::filesystem::path& out,
                std::vector<study::SeedBand>* bands) {
  std::ofstream f = OpenOut(out / "bands.csv");
  f << "configuration,tokens,mean_train_loss,stddev,seeds\n";
  for (const Configuration& c : configs) {
    Result<study::SeedBand> band = study::MeanOverSeeds(c.TrainCurves());
    if (!band.ok()) Fail(kExitRuntimeError, c.label + ": " + band.status().message());
    for (size_t i = 0; i < band->tokens.size(); ++i)
      f << Csv(c.label) << ',' << band->tokens[i] << ','
        << fmt::format("{:.6g},{:.6g}", band->mean[i], band->stddev[i]) << ',' << band->seeds << '\n';
    bands->push_back(*band);
  }
}

void WriteFinal(const std::vector<Configuration>& configs, const std::filesystem::path& out) {
  std::ofstream f = OpenOut(out / "final.csv");
  f << "configuration,schedule,P,K,lr,tokens_per_update,seeds,val_loss,val_lo95,val_hi95,flush_val_loss,"
       "gap_to_flush,gap_lo95,gap_hi95\n";
  for (const Configuration& c : configs) {
    const study::FinalLoss l = study::FinalLossOf(c, c.IsFlush() ? nullptr : study::FlushOf(configs, c));
    const store::RunConfig& k = c.point.config;
    f << fmt::format("{},{},{},{},{:g},{},{},", Csv(c.label), k.schedule, *k.stages, *k.accum, *k.lr,
                     *k.tokens_per_update, c.runs.size())
      << (l.val ? fmt::format("{:.6g},{:.6g},{:.6g}", l.val->mean, l.val->lo, l.val->hi) : ",,") << ','
      << (l.flush_val ? fmt::format("{:.6g}", *l.flush_val) : "") << ','
      << (l.gap ? fmt::format("{:.6g},{:.6g},{:.6g}", l.gap->mean, l.gap->lo, l.gap->hi) : ",,") << '\n';
  }
}

// Steady-state tokens/s of every configuration at the target scale: --cost, or the model flags.
void PredictRates(const ReportFlags& f, std::vector<Configuration>* configs) {
  const bool model = ModelFlagsGiven(f.model);
  if (f.cost.empty() && !model) return;
  if (!f.cost.empty() && model)
    Fail(kExitBadInput, "--cost: give a cost file or --model/--hardware, not both");
  std::optional<ir::CostModel> cost;
  std::optional<sim::ModelCostSetup> setup;
  if (!f.cost.empty()) {
    Result<ir::CostModel> c = sim::LoadCostModelFile(f.cost);
    if (!c.ok()) Fail(kExitBadInput, "--cost: " + c.status().message());
    cost = *c;
  } else {
    Result<sim::ModelCostSetup> s = ModelSetupFromFlags(f.model, nullptr);
    if (!s.ok()) Fail(kExitBadInput, s.status().message());
    setup = *s;
  }
  for (Configuration& c : *configs) {
    ir::CostModel here;
    if (cost) {
      here = *cost;
    } else {
      Result<ir::CostModel> m = sim::CostModelForSpec(*setup, c.spec);
      if (!m.ok()) Fail(kExitBadInput, "--model: " + c.label + ": " + m.status().message());
      here = *m;
    }
    Result<double> r = study::StudyTokensPerSecondAt(c, here);
    if (!r.ok()) Fail(kExitBadInput, "--cost: " + c.label + ": " + r.status().message());
    c.steady_tokens_per_s = *r;
  }
}

void WriteTta(const ReportFlags& f, const std::vector<Configuration>& configs,
              const std::filesystem::path& out, std::vector<study::PredictedTimeToAccuracy>* times,
              std::vector<study::TokensToTarget>* tokens) {
  std::ofstream tta = OpenOut(out / "tta.csv");
  tta << "configuration,seeds,reached,tokens_to_target,tokens_lo95,tokens_hi95,rate_at_target_scale,"
         "predicted_seconds,seconds_lo95,seconds_hi95\n";
  for (const Configuration& c : configs) {
    const study::TokensToTarget t = study::TokensToTargetOverSeeds(c.TrainCurves(), f.target_loss);
    study::PredictedTimeToAccuracy time;
    if (c.steady_tokens_per_s) time = study::PredictTimeToAccuracy(t, *c.steady_tokens_per_s);
    tta << Csv(c.label) << ',' << t.seeds << ',' << t.reached << ',' << Opt(t.mean) << ',' << Opt(t.lo) << ','
        << Opt(t.hi) << ',' << Opt(c.steady_tokens_per_s) << ',' << Opt(time.seconds) << ',' << Opt(time.lo)
        << ',' << Opt(time.hi) << '\n';
    times->push_back(time);
    tokens->push_back(t);
  }
}

#ifdef PACI_HAVE_PLOT
// The mean over seeds, +- one standard deviation, both smoothed as "reached" is (trailing mean).
plot::Series BandSeries(const std::string& name, const study::SeedBand& b, double x_scale) {
  plot::Series s;
  s.name = name;
  const std::vector<double> mean = study::TrailingMeanLoss(b.mean);
  const std::vector<double> sd = study::TrailingMeanLoss(b.stddev);
  for (size_t i = 0; i < b.tokens.size(); ++i) {
    s.x.push_back(b.tokens[i] * x_scale);
    s.y.push_back(mean[i]);
    if (b.seeds > 1) {
      s.lo.push_back(mean[i] - sd[i]);
      s.hi.push_back(mean[i] + sd[i]);
    }
  }
  return s;
}

// One chart per lr (all schedules and K at that lr), x = tokens or predicted seconds.
size_t PlotCurves(plot::Renderer& r, const std::vector<Configuration>& configs,
                  const std::vector<study::SeedBand>& bands, const std::filesystem::path& out, bool by_time) {
  std::set<double> lrs;
  for (const Configuration& c : configs) lrs.insert(*c.point.config.lr);
  size_t written = 0;
  for (double lr : lrs) {
    plot::LineChart chart;
    chart.title = fmt::format("train loss, lr {:g} (mean over seeds, {}-update trailing mean; band +-1 sd)",
                              lr, study::kLossSmoothingWindow);
    chart.x_label = by_time ? "predicted seconds at the target scale (updates x steady-state time per update)"
                            : "training tokens";
    chart.y_label = "train loss";
    for (size_t i = 0; i < configs.size(); ++i) {
      const Configuration& c = configs[i];
      if (*c.point.config.lr != lr) continue;
      if (by_time && !c.steady_tokens_per_s) continue;
      const std::string name = fmt::format("{} K={}", VariantName(c.point), *c.point.config.accum);
      chart.series.push_back(BandSeries(name, bands[i], by_time ? 1.0 / *c.steady_tokens_per_s : 1.0));
    }
    const std::string stem =
        (out / fmt::format("{}_lr{:g}", by_time ? "loss_vs_time" : "loss_vs_tokens", lr)).string();
    const Status st = r.Write(chart, stem);
    if (!st.ok()) Fail(kExitRuntimeError, "--out: " + st.message());
    ++written;
  }
  return written;
}

size_t PlotTta(plot::Renderer& r, const std::vector<Configuration>& configs,
               const std::vector<study::PredictedTimeToAccuracy>& times,
               const std::vector<study::TokensToTarget>& tokens, double target,
               const std::filesystem::path& out) {
  plot::BarChart chart;
  const bool seconds =
      std::any_of(times.begin(), times.end(), [](const auto& t) { return t.seconds.has_value(); });
  chart.title =
      fmt::format("{} to train loss {:g} (mean over seeds, 95 % t-interval; configurations that reach it)",
                  seconds ? "predicted time" : "tokens", target);
  chart.y_label = seconds ? "seconds at the target scale" : "training tokens";
  for (size_t i = 0; i < configs.size(); ++i) {
    const std::optional<double> v = seconds ? times[i].seconds : tokens[i].mean;
    if (!v) continue;
    const store::RunConfig& k = configs[i].point.config;
    chart.bars.push_back({fmt::format("{} K={} lr={:g}", VariantName(configs[i].point), *k.accum, *k.lr), *v,
                          seconds ? *times[i].lo : *tokens[i].lo, seconds ? *times[i].hi : *tokens[i].hi});
  }
  const Status st = r.Write(chart, (out / "tta").string());
  if (!st.ok()) Fail(kExitRuntimeError, "--out: " + st.message());
  return 1;
}

// Per non-flush schedule: rows lr, columns K, cell = final val loss minus flush's (paired mean).
size_t PlotHeatMaps(plot::Renderer& r, const std::vector<Configuration>& configs,
                    const std::filesystem::path& out) {
  std::set<std::string> schedules;
  for (const Configuration& c : configs)
    if (!c.IsFlush() && study::FlushOf(configs, c)) schedules.insert(VariantName(c.point));
  size_t written = 0;
  for (const std::string& s : schedules) {
    std::set<int64_t> ks;
    std::set<double> lrs;
    for (const Configuration& c : configs)
      if (VariantName(c.point) == s) {
        ks.insert(*c.point.config.accum);
        lrs.insert(*c.point.config.lr);
      }
    plot::HeatMap map;
    map.title = fmt::format(
        "{}: final validation loss minus 1F1B-flush's (same lr, tokens/update; mean over seeds)", s);
    map.x_label = "K (micro-batches per update)";
    map.y_label = "peak lr";
    for (int64_t k : ks) map.columns.push_back(std::to_string(k));
    for (double lr : lrs) map.rows.push_back(fmt::format("{:g}", lr));
    for (double lr : lrs) {
      auto& row = map.value.emplace_back();
      for (int64_t k : ks) {
        std::optional<double> cell;
        for (const Configuration& c : configs)
          if (VariantName(c.point) == s && *c.point.config.accum == k && *c.point.config.lr == lr)
            if (const Configuration* flush = study::FlushOf(configs, c))
              if (std::optional<MeanInterval> gap = study::GapToFlush(c, *flush)) cell = gap->mean;
        row.push_back(cell);
      }
    }
    std::string file = s;
    std::replace(file.begin(), file.end(), '+', '_');
    const Status st = r.Write(map, (out / ("gap_heatmap_" + file)).string());
    if (!st.ok()) Fail(kExitRuntimeError, "--out: " + st.message());
    ++written;
  }
  return written;
}
#endif

void RunReport(const ReportFlags& f) {
  if (f.out.empty()) Fail(kExitBadInput, "--out: a folder for the CSV files is required");
  if (f.target_loss != 0)  // 0: not given
    if (Status st = study::CheckTargetLoss(f.target_loss); !st.ok()) Fail(kExitBadInput, st.message());
  if ((!f.cost.empty() || ModelFlagsGiven(f.model)) && f.target_loss <= 0)
    Fail(kExitBadInput, std::string(f.cost.empty() ? "--model" : "--cost") +
                            ": applies only with --target-loss (time to that loss)");
  Result<store::TraceStore> db =
      store::TraceStore::Open(f.db, store::OpenOptions{.create_if_missing = false});
  if (!db.ok()) Fail(kExitBadInput, "--db: " + db.status().message());
  const std::filesystem::path out(f.out);
  std::error_code ec;  // a file in the way is bad input naming the flag, not an internal error
  std::filesystem::create_directories(out, ec);
  if (ec || !std::filesystem::is_directory(out))
    Fail(kExitBadInput, "--out: cannot make the folder '" + f.out +
                            "': " + (ec ? ec.message() : "a file of that name exists"));
  std::ofstream curves = OpenOut(out / "curves.csv");
  std::vector<Configuration> configs = LoadConfigurations(f, *db, curves);
  PredictRates(f, &configs);
  std::vector<study::SeedBand> bands;
  WriteBands(configs, out, &bands);
  WriteFinal(configs, out);
  size_t csv = 3;
  std::vector<study::PredictedTimeToAccuracy> times;
  std::vector<study::TokensToTarget> tokens;
  if (f.target_loss > 0) {
    WriteTta(f, configs, out, &times, &tokens);
    ++csv;
  }
  std::printf("study report: %zu configurations, %zu CSV files in %s\n", configs.size(), csv, f.out.c_str());
  if (f.no_plots) return;
#ifdef PACI_HAVE_PLOT
  plot::Renderer renderer;
  size_t plots = PlotCurves(renderer, configs, bands, out, /*by_time=*/false);
  if (std::any_of(configs.begin(), configs.end(),
                  [](const Configuration& c) { return c.steady_tokens_per_s.has_value(); }))
    plots += PlotCurves(renderer, configs, bands, out, /*by_time=*/true);
  if (f.target_loss > 0) plots += PlotTta(renderer, configs, times, tokens, f.target_loss, out);
  plots += PlotHeatMaps(renderer, configs, out);
  std::printf("study report: %zu plots (PNG and SVG) in %s\n", plots, f.out.c_str());
#else
  std::fprintf(stderr,
               "study report: no plots: this paci was built without Qt (plots need Qt6 Charts); "
               "--no-plots silences this\n");
#endif
}

}  // namespace

CLI::App* AddStudyReportCommand(CLI::App* study) {
  auto r = std::make_shared<ReportFlags>();
  CLI::App* report = study->add_subcommand(
      "report", "CSV and plots of a study's loss curves, seed bands, gap to flush and time to a target loss");
  report->add_option("--db", r->db, "the study's trace store")->capture_default_str();
  report->add_option("--out", r->out, "folder for the CSV files and plots")->required();
  report->add_option("--target-loss", r->target_loss, "training loss (smoothed) to reach: writes tta.csv");
  report->add_option("--cost", r->cost,
                     "cost model at the target scale (JSON or proto text; without tokens_per_microbatch: the "
                     "study's micro-batch)");
  AddModelFlags(report, &r->model);
  report->add_flag("--no-plots", r->no_plots, "CSV only");
  report
      ->add_option("--schedules", r->grid.schedules,
                   "report only these schedules (variants by their name, e.g. paci+drift-lr-scale=1)")
      ->delimiter(',');
  report->add_option("--stages", r->grid.stages, "report only these P")->delimiter(',');
  report->add_option("--accum", r->grid.accum, "report only these K")->delimiter(',');
  report->add_option("--lr", r->grid.lr, "report only these peak learning rates")->delimiter(',');
  report->footer(
      "Time to accuracy at a target scale: updates to the target loss (measured here) x the simulator's "
      "steady-state time per update under --cost or --model/--hardware/--link (predicted there). "
      "--schedules/--stages/--accum/--lr report a sub-grid; the 1F1B-flush baseline of each configuration "
      "in it is kept.");
  report->callback([r] { RunReport(*r); });
  return report;
}

}  // namespace paci::cli
