// `paci study`: trains a grid of schedules x K x lr x seeds, each point one `paci train` process
// (this binary) recording into one store, at most --jobs at once. A point is named by its
// configuration; re-running the same command skips every point the store already holds complete,
// so an interrupted study resumes. Flags it does not know (the model and data flags, --eval-every)
// go to every `paci train` unchanged. `paci study report` turns the stored runs into CSV: loss
// against tokens, mean and spread over seeds, tokens and predicted time to a target loss
// (sim/loss_curve_study.h). Runs are grouped by name (configuration without its seed) until the
// store has configuration columns. Exit codes: 0 every point done, 1 some point failed, 2 bad flags.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "proto/ir_names.h"
#include "sim/cost_model_file.h"
#include "sim/loss_curve_study.h"
#include "store/trace_store.h"
#include "tools/commands.h"
#include "tools/exit_codes.h"

extern char** environ;

namespace paci::cli {
namespace {

struct StudyFlags {
  std::vector<std::string> schedules{"paci", "1f1b-flush"};
  uint32_t stages = 4;
  std::vector<uint32_t> accum{4};
  std::vector<double> lr{1e-3};
  uint32_t seeds = 1;
  int64_t updates = 100;
  double warmup_frac = 0.01;  // the paper: linear warm-up over 1 % of the updates
  double min_lr_frac = 0.1;   // cosine decay to 0.1 x peak
  std::string db = "study.db";
  std::string log_dir;        // default: <db>.logs
  int jobs = 1;
  std::vector<std::string> train_args;  // passed through to every `paci train`
};

struct Point {
  std::string name;               // the run's name in the store: its configuration
  std::vector<std::string> args;  // `paci train` arguments
};

// The flags a study sets per point; given among the pass-through flags they would contradict it.
void RefuseGridFlags(const std::vector<std::string>& extras) {
  static const std::set<std::string> owned = {"--schedule", "--stages", "--accum", "--lr", "--seed", "--updates",
                                              "--microbatches", "--warmup", "--min-lr-frac", "--db", "--no-db",
                                              "--name", "--save", "--resume", "--transport"};
  for (const std::string& a : extras) {
    const std::string flag = a.substr(0, a.find('='));
    if (owned.count(flag)) Fail(2, flag + ": set by the study for every point; use the study's own flag");
  }
}

std::vector<Point> Grid(const StudyFlags& f) {
  std::string extra;
  for (const std::string& a : f.train_args) extra += " " + a;
  const int64_t warmup = std::llround(f.warmup_frac * static_cast<double>(f.updates));
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = std::max(1, hw / (f.jobs * static_cast<int>(f.stages)));
  bool threads_given = false;
  for (const std::string& a : f.train_args) threads_given |= a.rfind("--threads", 0) == 0;
  std::vector<Point> grid;
  for (const std::string& schedule : f.schedules)
    for (uint32_t k : f.accum)
      for (double lr : f.lr)
        for (uint32_t seed = 1; seed <= f.seeds; ++seed) {
          Point p;
          p.name = fmt::format("study {} P={} K={} lr={:g} seed={} updates={} warmup={:g} min_lr={:g}{}", schedule,
                               f.stages, k, lr, seed, f.updates, f.warmup_frac, f.min_lr_frac, extra);
          p.args = {"train", "--schedule", schedule, "--stages", std::to_string(f.stages), "--accum",
                    std::to_string(k), "--lr", fmt::format("{:g}", lr), "--seed", std::to_string(seed),
                    "--updates", std::to_string(f.updates), "--warmup", std::to_string(warmup),
                    "--min-lr-frac", fmt::format("{:g}", f.min_lr_frac), "--db", f.db, "--name", p.name};
          if (!threads_given) p.args.insert(p.args.end(), {"--threads", std::to_string(threads)});
          p.args.insert(p.args.end(), f.train_args.begin(), f.train_args.end());
          grid.push_back(std::move(p));
        }
  return grid;
}

// Names of the runs the store holds complete: the points a re-run skips.
std::set<std::string> FinishedRuns(const std::string& db) {
  std::set<std::string> done;
  if (!std::filesystem::exists(db)) return done;
  Result<store::TraceStore> s = store::TraceStore::Open(db);
  if (!s.ok()) Fail(2, "--db: " + s.status().message());
  Result<std::vector<store::RunRecord>> runs = s->ListRuns();
  if (!runs.ok()) Fail(1, "--db: " + runs.status().message());
  for (const store::RunRecord& r : *runs)
    if (r.status == store::RunStatus::kComplete) done.insert(r.info.name);
  return done;
}

// Starts `paci train` for one point with stdout and stderr in `log`; returns its pid.
pid_t Spawn(const Point& p, const std::string& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(self.c_str()));
  for (const std::string& a : p.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int err = posix_spawn(&pid, self.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (err != 0) Fail(1, fmt::format("cannot start {}: {}", self, std::strerror(err)));
  return pid;
}

void RunStudy(const StudyFlags& f) {
  if (f.jobs < 1) Fail(2, "--jobs must be at least 1");
  if (f.seeds < 1) Fail(2, "--seeds must be at least 1");
  if (f.updates < 1) Fail(2, "--updates must be at least 1");
  if (f.schedules.empty() || f.accum.empty() || f.lr.empty()) Fail(2, "--schedules, --accum and --lr need a value");
  if (!(f.warmup_frac >= 0 && f.warmup_frac < 1)) Fail(2, "--warmup-frac must be in [0, 1)");
  if (!(f.min_lr_frac >= 0 && f.min_lr_frac <= 1)) Fail(2, "--min-lr-frac must be in [0, 1]");
  for (const std::string& s : f.schedules)
    if (!ParseScheduleName(s)) Fail(2, "--schedules: unknown schedule '" + s + "'");
  RefuseGridFlags(f.train_args);
  const std::string logs = f.log_dir.empty() ? f.db + ".logs" : f.log_dir;
  std::filesystem::create_directories(logs);

  const std::vector<Point> grid = Grid(f);
  const std::set<std::string> done = FinishedRuns(f.db);
  std::vector<size_t> todo;
  for (size_t i = 0; i < grid.size(); ++i)
    if (!done.count(grid[i].name)) todo.push_back(i);
  std::printf("study: %zu points, %zu already in %s, %zu to train (%d at once)\n", grid.size(),
              grid.size() - todo.size(), f.db.c_str(), todo.size(), f.jobs);
  std::fflush(stdout);

  std::map<pid_t, size_t> running;
  size_t next = 0, failed = 0;
  while (next < todo.size() || !running.empty()) {
    while (next < todo.size() && static_cast<int>(running.size()) < f.jobs) {
      const size_t i = todo[next++];
      running[Spawn(grid[i], fmt::format("{}/point{}.log", logs, i))] = i;
    }
    int status = 0;
    const pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) Fail(1, std::string("waitpid: ") + std::strerror(errno));
    auto it = running.find(pid);
    if (it == running.end()) continue;
    const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    failed += ok ? 0 : 1;
    std::printf("%s  %s%s\n", ok ? "done  " : "FAILED", grid[it->second].name.c_str(),
                ok ? "" : fmt::format(" (see {}/point{}.log)", logs, it->second).c_str());
    std::fflush(stdout);
    running.erase(it);
  }
  std::printf("study: trained %zu, skipped %zu, failed %zu\n", todo.size() - failed, grid.size() - todo.size(), failed);
  if (failed) Fail(1, fmt::format("{} of {} point(s) failed", failed, todo.size()));
}

struct ReportFlags {
  std::string db = "study.db";
  std::string out;
  double target_loss = 0;  // 0: no tokens-to-target table
  std::string cost;        // cost model at the target scale, for predicted time to accuracy
};

// The runs of one configuration (a study point without its seed), in seed order.
struct Configuration {
  ir::PipelineSpec spec;
  std::vector<int64_t> runs;
  std::vector<uint32_t> seeds;
  std::vector<sim::TokenCurve> train;
};

std::string WithoutSeed(const std::string& name, uint32_t* seed) {
  const size_t at = name.find(" seed=");
  if (at == std::string::npos) return name;
  const size_t end = name.find(' ', at + 1);
  *seed = static_cast<uint32_t>(std::strtoul(name.c_str() + at + 6, nullptr, 10));
  return name.substr(0, at) + (end == std::string::npos ? "" : name.substr(end));
}

std::string Csv(const std::string& field) { return "\"" + field + "\""; }
std::string Opt(const std::optional<double>& v) { return v ? fmt::format("{:.6g}", *v) : ""; }

std::ofstream OpenOut(const std::filesystem::path& path) {
  std::ofstream out(path);
  if (!out) Fail(1, "--out: cannot write " + path.string());
  return out;
}

// Writes curves.csv (every run's loss against tokens), bands.csv (mean and spread over seeds) and,
// with --target-loss, tta.csv (tokens to target with a 95 % interval over seeds, and with --cost
// the predicted time at the target scale from the simulator's steady-state tokens/s).
void RunReport(const ReportFlags& f) {
  if (f.out.empty()) Fail(2, "--out: a folder for the CSV files is required");
  if (f.target_loss < 0) Fail(2, "--target-loss must not be negative");
  std::optional<ir::CostModel> cost;
  if (!f.cost.empty()) {
    if (f.target_loss <= 0) Fail(2, "--cost: applies only with --target-loss (time to that loss)");
    Result<ir::CostModel> c = sim::LoadCostModelFile(f.cost);
    if (!c.ok()) Fail(2, "--cost: " + c.status().message());
    if (c->tokens_per_microbatch() == 0) Fail(2, "--cost: " + f.cost + " has no tokens_per_microbatch");
    cost = *c;
  }
  Result<store::TraceStore> db = store::TraceStore::Open(f.db, store::OpenOptions{.create_if_missing = false});
  if (!db.ok()) Fail(2, "--db: " + db.status().message());
  Result<std::vector<store::RunRecord>> runs = db->ListRuns();
  if (!runs.ok()) Fail(1, "--db: " + runs.status().message());
  std::map<std::string, Configuration> configs;
  std::filesystem::create_directories(f.out);
  std::ofstream curves = OpenOut(std::filesystem::path(f.out) / "curves.csv");
  curves << "configuration,seed,run,update,tokens,train_loss,val_loss\n";
  for (const store::RunRecord& r : *runs) {
    if (r.status != store::RunStatus::kComplete || r.info.name.rfind("study ", 0) != 0) continue;
    Result<store::RunData> data = db->LoadRun(r.id);
    if (!data.ok()) Fail(1, "--db: " + data.status().message());
    uint32_t seed = 0;
    const std::string key = WithoutSeed(r.info.name, &seed);
    Configuration& c = configs[key];
    c.spec = r.info.spec;
    c.runs.push_back(r.id);
    c.seeds.push_back(seed);
    sim::TokenCurve& train = c.train.emplace_back();
    for (const ir::UpdateMetric& u : data->updates) {
      train.tokens.push_back(static_cast<double>(u.tokens()));
      train.loss.push_back(u.loss());
      curves << Csv(key) << ',' << seed << ',' << r.id << ',' << u.update() << ',' << u.tokens() << ','
             << fmt::format("{:.6g}", u.loss()) << ','
             << (std::isnan(u.val_loss()) ? std::string() : fmt::format("{:.6g}", u.val_loss())) << '\n';
    }
  }
  std::ofstream bands = OpenOut(std::filesystem::path(f.out) / "bands.csv");
  bands << "configuration,tokens,mean_train_loss,stddev,seeds\n";
  for (const auto& [key, c] : configs) {
    Result<sim::SeedBand> band = sim::MeanOverSeeds(c.train);
    if (!band.ok()) Fail(1, key + ": " + band.status().message());
    for (size_t i = 0; i < band->tokens.size(); ++i)
      bands << Csv(key) << ',' << band->tokens[i] << ',' << fmt::format("{:.6g},{:.6g}", band->mean[i], band->stddev[i])
            << ',' << band->seeds << '\n';
  }
  size_t written = 2;
  if (f.target_loss > 0) {
    std::ofstream tta = OpenOut(std::filesystem::path(f.out) / "tta.csv");
    tta << "configuration,seeds,reached,tokens_to_target,tokens_lo95,tokens_hi95,steady_tokens_per_s,"
           "predicted_seconds,seconds_lo95,seconds_hi95\n";
    for (const auto& [key, c] : configs) {
      const sim::TokensToTarget t = sim::TokensToTargetOverSeeds(c.train, f.target_loss);
      std::optional<double> rate;
      sim::PredictedTimeToAccuracy time;
      if (cost) {
        Result<double> r = sim::SteadyTokensPerSecond(c.spec, *cost);
        if (!r.ok()) Fail(2, "--cost: " + key + ": " + r.status().message());
        rate = *r;
        time = sim::PredictTimeToAccuracy(t, *r);
      }
      tta << Csv(key) << ',' << t.seeds << ',' << t.reached << ',' << Opt(t.mean) << ',' << Opt(t.lo) << ','
          << Opt(t.hi) << ',' << Opt(rate) << ',' << Opt(time.seconds) << ',' << Opt(time.lo) << ','
          << Opt(time.hi) << '\n';
    }
    ++written;
  }
  std::printf("study report: %zu configurations, %zu CSV files in %s\n", configs.size(), written, f.out.c_str());
}

}  // namespace

void AddStudyCommand(CLI::App& app) {
  auto f = std::make_shared<StudyFlags>();
  CLI::App* cmd = app.add_subcommand(
      "study", "train a grid of schedules x K x lr x seeds into one store, --jobs at once; re-running skips finished points");
  cmd->add_option("--schedules", f->schedules, "schedules to compare")->delimiter(',')->capture_default_str();
  cmd->add_option("--stages", f->stages, "pipeline stages P")->capture_default_str();
  cmd->add_option("--accum", f->accum, "micro-batches per update K, comma-separated")->delimiter(',')->capture_default_str();
  cmd->add_option("--lr", f->lr, "peak learning rates, comma-separated")->delimiter(',')->capture_default_str();
  cmd->add_option("--seeds", f->seeds, "seeds 1..N per point")->capture_default_str();
  cmd->add_option("--updates", f->updates, "optimizer updates per run")->capture_default_str();
  cmd->add_option("--warmup-frac", f->warmup_frac, "linear warm-up as a fraction of --updates")->capture_default_str();
  cmd->add_option("--min-lr-frac", f->min_lr_frac, "cosine decay to this fraction of the peak lr")->capture_default_str();
  cmd->add_option("--db", f->db, "trace store every run is recorded in")->capture_default_str();
  cmd->add_option("--log-dir", f->log_dir, "where each run's output goes (default: DB.logs)");
  cmd->add_option("--jobs", f->jobs, "runs at once")->capture_default_str();
  cmd->allow_extras();
  cmd->footer("Other flags (model, data, --eval-every, --device) are passed to every `paci train`.");

  auto r = std::make_shared<ReportFlags>();
  CLI::App* report = cmd->add_subcommand("report", "CSV of a study's loss curves, seed bands and time to a target loss");
  report->add_option("--db", r->db, "the study's trace store")->capture_default_str();
  report->add_option("--out", r->out, "folder for curves.csv, bands.csv, tta.csv")->required();
  report->add_option("--target-loss", r->target_loss, "training loss (smoothed) to reach: writes tta.csv");
  report->add_option("--cost", r->cost, "cost model at the target scale (JSON or proto text, with tokens_per_microbatch)");
  report->callback([r] { RunReport(*r); });
  cmd->callback([f, cmd, report] {
    if (report->parsed()) return;
    f->train_args = cmd->remaining();
    RunStudy(*f);
  });
}

}  // namespace paci::cli
