// `paci study report`: a study's stored runs as CSV and plots. Runs are grouped into
// configurations by the store's configuration columns and setup (study/study_point.h), seeds
// pooled. Files: curves.csv (every run's loss against tokens), bands.csv (mean and spread over
// seeds), seeds.csv (each run's final losses), final.csv (final validation loss with a 95 %
// interval and the gap to 1F1B-flush at the same lr and tokens per update, paired by seed), tta.csv
// (with --target-loss: tokens to target per seed and their geometric mean; with a cost model the
// predicted time at the target scale from the simulator's steady-state time per update, and the
// speed-ups over the same-K flush and the best flush, paired by seed; rate_at_target_scale is that
// rate in study tokens per second, StudyTokensPerSecondAt). docs/statistics.md defines every
// interval. Plots (Qt Charts offscreen, plot/): loss vs tokens per lr, loss vs predicted time,
// time-to-accuracy bars, and a K x lr heat map of the gap to flush per schedule.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
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
#include "sched/staleness.h"
#include "sim/cost_model_file.h"
#include "store/trace_store.h"
#include "study/loss_curve_study.h"
#include "study/study_configuration.h"
#include "study/study_ranking.h"
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

// variants.csv, when the report holds a compensated variant and its plain form (paci+predict=1 and
// paci): each variant's final validation loss against its plain form's, paired by seed.
void WriteVariants(const std::vector<Configuration>& configs, const std::filesystem::path& out) {
  std::vector<std::pair<const Configuration*, const Configuration*>> pairs;
  for (const Configuration& c : configs)
    if (const Configuration* plain = study::PlainOf(configs, c)) pairs.emplace_back(&c, plain);
  if (pairs.empty()) return;
  std::ofstream f = OpenOut(out / "variants.csv");
  f << "configuration,plain,seeds,val_loss,plain_val_loss,gap_to_plain,gap_lo95,gap_hi95\n";
  for (const auto& [c, plain] : pairs) {
    const study::FinalLoss l = study::FinalLossOf(*c, plain);  // the plain form as the baseline
    f << Csv(c->label) << ',' << Csv(plain->label) << ',' << c->runs.size() << ','
      << (l.val ? fmt::format("{:.6g}", l.val->mean) : "") << ','
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

// The per-seed numbers behind final.csv: one row per run.
void WriteSeeds(const std::vector<Configuration>& configs, const std::filesystem::path& out) {
  std::ofstream f = OpenOut(out / "seeds.csv");
  f << "configuration,schedule,P,K,lr,seed,run,updates,tokens,final_train_loss,final_val_loss\n";
  for (const Configuration& c : configs) {
    const store::RunConfig& k = c.point.config;
    for (const StudyRun& r : c.runs) {
      const ir::UpdateMetric* last = r.updates.empty() ? nullptr : &r.updates.back();
      f << fmt::format("{},{},{},{},{:g},{},{},{},{},{},{}\n", Csv(c.label), k.schedule, *k.stages, *k.accum,
                       *k.lr, r.seed, r.id, last ? last->update() : 0, last ? last->tokens() : 0,
                       last ? fmt::format("{:.6g}", last->loss()) : "",
                       std::isnan(r.final_val_loss) ? "" : fmt::format("{:.6g}", r.final_val_loss));
    }
  }
}

std::string Interval(const std::optional<MeanInterval>& m) {
  return m ? fmt::format("{:.6g},{:.6g},{:.6g}", m->mean, m->lo, m->hi) : ",,";
}

// "seed:tokens" per seed ("-" for a seed that never reaches the target), in the runs' order.
std::string TokensBySeed(const StudyConfiguration& c, const study::TokensToTarget& t) {
  std::string out;
  for (size_t i = 0; i < c.runs.size() && i < t.per_seed.size(); ++i)
    out += fmt::format("{}{}:{}", i ? " " : "", c.runs[i].seed,
                       t.per_seed[i] ? fmt::format("{:.0f}", *t.per_seed[i]) : "-");
  return out;
}

// The time-to-accuracy numbers of every configuration, in the order of `configs`.
struct TtaRow {
  study::TokensToTarget tokens;
  study::PredictedTimeToAccuracy time;
  std::optional<MeanInterval> vs_flush, vs_best_flush;  // paired by seed
  const Configuration* best_flush = nullptr;
};

std::vector<TtaRow> TimeToAccuracy(double target, const std::vector<Configuration>& configs) {
  std::vector<TtaRow> rows(configs.size());
  for (size_t i = 0; i < configs.size(); ++i)
    rows[i].tokens = study::TokensToTargetOverSeeds(configs[i].TrainCurves(), target);
  const bool rates = !configs.empty() && configs[0].steady_tokens_per_s.has_value();
  if (!rates) return rows;
  std::vector<StudyConfiguration> plain;
  std::vector<double> rate;
  for (const Configuration& c : configs) {
    plain.push_back(c);
    rate.push_back(*c.steady_tokens_per_s);
  }
  const study::StudyRanking ranking = study::RankStudyAtRates(plain, rate, target);
  const study::StudyRank* best = ranking.best_flush ? &ranking.ranks[*ranking.best_flush] : nullptr;
  for (size_t i = 0; i < configs.size(); ++i) {
    const Configuration& c = configs[i];
    TtaRow& row = rows[i];
    row.time = study::PredictTimeToAccuracy(row.tokens, rate[i]);
    if (const Configuration* flush = c.IsFlush() ? nullptr : study::FlushOf(configs, c))
      row.vs_flush = study::PairedSpeedup(c, rate[i], *flush, *flush->steady_tokens_per_s, target);
    if (best && best->config->label != c.label) {
      row.best_flush = &configs[static_cast<size_t>(best->config - plain.data())];
      row.vs_best_flush = study::PairedSpeedup(c, rate[i], *best->config, best->rate, target);
    }
  }
  return rows;
}

void WriteTta(const std::vector<Configuration>& configs, const std::vector<TtaRow>& rows,
              const std::filesystem::path& out) {
  std::ofstream tta = OpenOut(out / "tta.csv");
  tta << "configuration,seeds,reached,tokens_to_target,tokens_lo95,tokens_hi95,tokens_by_seed,"
         "rate_at_target_scale,predicted_seconds,seconds_lo95,seconds_hi95,speedup_vs_flush,"
         "speedup_vs_flush_lo95,speedup_vs_flush_hi95,best_flush,speedup_vs_best_flush,"
         "speedup_vs_best_flush_lo95,speedup_vs_best_flush_hi95\n";
  for (size_t i = 0; i < configs.size(); ++i) {
    const Configuration& c = configs[i];
    const TtaRow& r = rows[i];
    tta << Csv(c.label) << ',' << r.tokens.seeds << ',' << r.tokens.reached << ',' << Opt(r.tokens.mean)
        << ',' << Opt(r.tokens.lo) << ',' << Opt(r.tokens.hi) << ',' << TokensBySeed(c, r.tokens) << ','
        << Opt(c.steady_tokens_per_s) << ',' << Opt(r.time.seconds) << ',' << Opt(r.time.lo) << ','
        << Opt(r.time.hi) << ',' << Interval(r.vs_flush) << ','
        << (r.best_flush ? Csv(r.best_flush->label) : "") << ',' << Interval(r.vs_best_flush) << '\n';
  }
}

#ifdef PACI_HAVE_PLOT
// One colour per schedule in every figure of every report, so figures compare at a glance, and one
// per staleness compensation of a variant ("paci+predict=1": predict's). Members of a family (K)
// differ by dash (DashOf).
std::string ScheduleColor(const std::string& variant) {
  static const std::map<std::string, std::string> kColors = {
      {"1f1b-flush", "#4e79a7"}, {"paci", "#f28e2b"},
      {"pipedream", "#59a14f"},  {"pipedream-2bw", "#b07aa1"},
      {"pipemare", "#9c755f"},   {"gpipe", "#76b7b2"},
      {"zb-h1", "#edc948"},      {"interleaved-1f1b", "#ff9da7"}};
  static const std::map<StalenessKind, std::string> kCompensationColors = {
      {StalenessKind::kDriftLrScale, "#e15759"},
      {StalenessKind::kStageLr, "#7f7f7f"},
      {StalenessKind::kRewind, "#17becf"},
      {StalenessKind::kPredict, "#2ca02c"},
      {StalenessKind::kDelayComp, "#8c6d31"}};
  if (auto it = kColors.find(variant); it != kColors.end()) return it->second;
  if (Result<ScheduleVariant> v = ParseScheduleVariant(variant); v.ok())
    if (auto it = kCompensationColors.find(v->staleness.kind); it != kCompensationColors.end())
      return it->second;
  return "#bab0ac";
}

// A dash per K: the i-th smallest K of the report gets dash pattern i, in every figure of it.
int DashOf(const std::vector<Configuration>& configs, int64_t k) {
  std::set<int64_t> ks;
  for (const Configuration& c : configs) ks.insert(*c.point.config.accum);
  return static_cast<int>(std::distance(ks.begin(), ks.find(k)));
}

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
      plot::Series& s =
          chart.series.emplace_back(BandSeries(name, bands[i], by_time ? 1.0 / *c.steady_tokens_per_s : 1.0));
      s.color = ScheduleColor(VariantName(c.point));
      s.dash = DashOf(configs, *c.point.config.accum);
    }
    const std::string stem =
        (out / fmt::format("{}_lr{:g}", by_time ? "loss_vs_time" : "loss_vs_tokens", lr)).string();
    const Status st = r.Write(chart, stem);
    if (!st.ok()) Fail(kExitRuntimeError, "--out: " + st.message());
    ++written;
  }
  return written;
}

size_t PlotTta(plot::Renderer& r, const std::vector<Configuration>& configs, const std::vector<TtaRow>& rows,
               double target, const std::filesystem::path& out) {
  plot::BarChart chart;
  const bool seconds =
      std::any_of(rows.begin(), rows.end(), [](const TtaRow& t) { return t.time.seconds.has_value(); });
  chart.title = fmt::format(
      "{} to train loss {:g} (geometric mean over seeds, 95 % t-interval on the logs; configurations that "
      "reach it)",
      seconds ? "predicted time" : "tokens", target);
  chart.y_label = seconds ? "seconds at the target scale" : "training tokens";
  for (size_t i = 0; i < configs.size(); ++i) {
    const TtaRow& t = rows[i];
    const std::optional<double> v = seconds ? t.time.seconds : t.tokens.mean;
    if (!v) continue;
    const store::RunConfig& k = configs[i].point.config;
    plot::Bar& bar = chart.bars.emplace_back();
    bar.label = fmt::format("{} K={} lr={:g}", VariantName(configs[i].point), *k.accum, *k.lr);
    bar.value = *v;
    bar.lo = seconds ? *t.time.lo : *t.tokens.lo;
    bar.hi = seconds ? *t.time.hi : *t.tokens.hi;
    bar.interval = t.tokens.reached > 1;
    bar.color = ScheduleColor(VariantName(configs[i].point));
  }
  const Status st = r.Write(chart, (out / "tta").string());
  if (!st.ok()) Fail(kExitRuntimeError, "--out: " + st.message());
  return 1;
}

// Every gap heat map of every report shares this diverging scale (a gap beyond it saturates, its
// label keeps the value), so colours compare across figures.
constexpr double kGapColourScale = 0.4;

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
        "{}: final validation loss minus 1F1B-flush's (same lr, tokens/update; paired mean over seeds; "
        "colour scale -+{:g} in every heat map)",
        s, kGapColourScale);
    map.scale = kGapColourScale;
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
    // A file name a shell needs no quotes for: "paci+drift-lr-scale=1.0" -> "paci_drift-lr-scale_1_0".
    std::replace_if(
        file.begin(), file.end(),
        [](char ch) { return !std::isalnum(static_cast<unsigned char>(ch)) && ch != '-'; }, '_');
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
  WriteVariants(configs, out);
  size_t csv = 3;
  WriteSeeds(configs, out);
  ++csv;
  std::vector<TtaRow> tta;
  if (f.target_loss > 0) {
    tta = TimeToAccuracy(f.target_loss, configs);
    WriteTta(configs, tta, out);
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
  if (f.target_loss > 0) plots += PlotTta(renderer, configs, tta, f.target_loss, out);
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
