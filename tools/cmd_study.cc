// `paci study`: trains a grid of schedules x K x lr x seeds, each point one `paci train` process
// (this binary) recording into one store, at most --jobs at once. A point is identified by the
// store's configuration columns and the run's setup (study/study_point.h), not by its name;
// re-running the same command skips every point the store already holds complete, so an
// interrupted study resumes. Flags it does not know (the model and data flags, --eval-every) go to
// every `paci train` unchanged. Started several times by mpirun or srun, each copy trains its share
// of the grid (tools/grid_share.h) into the same store, or with "{rank}" in --db each into its own,
// joined afterwards by `paci runs merge` (cmd_runs_merge.cc). `paci study report` (cmd_study_report.cc)
// turns the runs into CSV and plots. Exit codes: 0 every point done, 1 some point failed, 2 bad
// flags.
#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "exec/model/affinity.h"
#include "proto/exit_codes.h"
#include "proto/ir_names.h"
#include "sched/checked_math.h"
#include "sched/limits.h"
#include "store/trace_store.h"
#include "tools/child_signals.h"
#include "tools/commands.h"
#include "tools/grid_share.h"
#include "tools/study_point.h"

extern char** environ;

namespace paci::cli {
namespace {

using study::PointOfRun;
using study::SamePoint;
using study::StudyPoint;

// A grid beyond these is a typo, not a study (issue 25: --seeds 4294967295 looped forever, growing,
// and --jobs 2^30 overflowed jobs x stages into a division by zero).
constexpr uint64_t kMaxStudyPoints = 100000;
constexpr int kMaxStudyJobs = 1024;

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
  std::string log_dir;  // default: <db>.logs
  int jobs = 1;
  std::vector<std::string> train_args;  // passed through to every `paci train`
};

struct Point {
  std::string name;               // the run's label in the store (for people; not its identity)
  std::vector<std::string> args;  // `paci train` arguments
  StudyPoint id;                  // what the store's columns will say: its identity
};

// The flags a study sets per point; given among the pass-through flags they would contradict it.
void RefuseGridFlags(const std::vector<std::string>& extras) {
  static const std::set<std::string> owned = {
      "--schedule",    "--stages", "--accum", "--lr",   "--seed", "--updates", "--microbatches", "--warmup",
      "--min-lr-frac", "--db",     "--no-db", "--name", "--save", "--resume",  "--transport"};
  for (const std::string& a : extras) {
    const std::string flag = a.substr(0, a.find('='));
    if (owned.count(flag))
      Fail(kExitBadInput, flag + ": set by the study for every point; use the study's own flag");
  }
}

// The cores this copy of the study may use: the CPUs it is allowed (taskset, cpusets, a launcher's
// binding), shared with the other copies on this machine when the launcher left them unbound.
int StudyCores(const GridShare& share) {
  const int allowed = static_cast<int>(exec::allowed_cpus().size());
  const int machine = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, allowed >= machine ? allowed / share.local_ranks : allowed);
}

std::vector<Point> Grid(const StudyFlags& f, int cores) {
  std::string extra;
  for (const std::string& a : f.train_args) extra += " " + a;
  const int64_t warmup = std::llround(f.warmup_frac * static_cast<double>(f.updates));
  // jobs and stages are bounded by CheckStudyFlags, so this product fits; checked all the same.
  const std::optional<int64_t> shares = CheckedMul<int64_t>(f.jobs, f.stages);
  if (!shares || *shares < 1) Fail(kExitBadInput, "--jobs x --stages: out of range");
  const int threads = static_cast<int>(std::max<int64_t>(1, cores / *shares));
  bool threads_given = false;
  for (const std::string& a : f.train_args) threads_given |= a.rfind("--threads", 0) == 0;
  std::vector<Point> grid;
  for (const std::string& schedule : f.schedules)
    for (uint32_t k : f.accum)
      for (double lr : f.lr)
        for (uint32_t seed = 1; seed <= f.seeds; ++seed) {
          Point p;
          p.name =
              fmt::format("study {} P={} K={} lr={:g} seed={} updates={} warmup={:g} min_lr={:g}{}", schedule,
                          f.stages, k, lr, seed, f.updates, f.warmup_frac, f.min_lr_frac, extra);
          p.args = {"train",
                    "--schedule",
                    schedule,
                    "--stages",
                    std::to_string(f.stages),
                    "--accum",
                    std::to_string(k),
                    "--lr",
                    fmt::format("{:g}", lr),
                    "--seed",
                    std::to_string(seed),
                    "--updates",
                    std::to_string(f.updates),
                    "--warmup",
                    std::to_string(warmup),
                    "--min-lr-frac",
                    fmt::format("{:g}", f.min_lr_frac),
                    "--db",
                    f.db,
                    "--name",
                    p.name};
          if (!threads_given) p.args.insert(p.args.end(), {"--threads", std::to_string(threads)});
          p.args.insert(p.args.end(), f.train_args.begin(), f.train_args.end());
          Result<StudyPoint> id = PointOfTrainArgs({p.args.begin() + 1, p.args.end()});
          if (!id.ok())
            Fail(kExitBadInput, id.status().message());  // PointOfTrainArgs refuses what train would
          p.id = std::move(*id);
          grid.push_back(std::move(p));
        }
  return grid;
}

// The points the store holds complete runs of: what a re-run skips.
std::vector<StudyPoint> FinishedPoints(const std::string& db) {
  std::vector<StudyPoint> done;
  if (!std::filesystem::exists(db)) return done;
  Result<store::TraceStore> s = store::TraceStore::Open(db);
  if (!s.ok()) Fail(kExitBadInput, "--db: " + s.status().message());
  Result<std::vector<store::RunRecord>> runs = s->ListRuns();
  if (!runs.ok()) Fail(kExitRuntimeError, "--db: " + runs.status().message());
  for (const store::RunRecord& r : *runs)
    if (r.status == store::RunStatus::kComplete && r.info.kind == store::RunKind::kMeasured)
      if (std::optional<StudyPoint> p = PointOfRun(r)) done.push_back(std::move(*p));
  return done;
}

// A log file name per point that no other point of any study into the same store shares: the grid
// coordinates people read, then a hash of the whole run name (which holds the pass-through flags).
std::string LogName(const Point& p) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : p.name) h = (h ^ c) * 1099511628211ull;
  const store::RunConfig& c = p.id.config;
  return fmt::format("{}-P{}-K{}-lr{:g}-seed{}-{:08x}.log", c.schedule, c.stages.value_or(0),
                     c.accum.value_or(0), c.lr.value_or(0), c.seed.value_or(0),
                     static_cast<uint32_t>(h ^ (h >> 32)));
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
  if (err != 0) Fail(kExitRuntimeError, fmt::format("cannot start {}: {}", self, std::strerror(err)));
  return pid;
}

// Creates the log folder; a file in its place is bad input naming the flag, not an internal error.
void MakeLogDir(const std::string& logs, bool given) {
  const std::string flag = given ? "--log-dir" : "--db";
  std::error_code ec;
  std::filesystem::create_directories(logs, ec);
  if (ec || !std::filesystem::is_directory(logs))
    Fail(kExitBadInput, fmt::format("{}: cannot make the log folder '{}': {}", flag, logs,
                                    ec ? ec.message() : "a file of that name exists"));
}

// A value given twice in a grid list: its points would train twice and pool as two seeds of one
// configuration, with a zero-width interval (issue 25, `--accum 2,2`).
template <typename T>
void RefuseRepeats(const std::vector<T>& values, const char* flag) {
  for (size_t i = 0; i < values.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (values[j] == values[i])
        Fail(kExitBadInput,
             fmt::format("{}: {} is given twice; each value is one point of the grid", flag, values[i]));
}

// The study's own numbers, before any of them is multiplied or divided by.
void CheckStudyFlags(const StudyFlags& f) {
  if (f.jobs < 1 || f.jobs > kMaxStudyJobs)
    Fail(kExitBadInput, fmt::format("--jobs must be in [1, {}], got {}", kMaxStudyJobs, f.jobs));
  if (f.stages < 1 || f.stages > kMaxStages)
    Fail(kExitBadInput, fmt::format("--stages must be in [1, {}] (kMaxStages, sched/limits.h), got {}",
                                    kMaxStages, f.stages));
  if (f.seeds < 1) Fail(kExitBadInput, "--seeds must be at least 1");
  const Result<uint64_t> points =
      CheckedProduct({f.schedules.size(), f.accum.size(), f.lr.size(), f.seeds}, kMaxStudyPoints,
                     "--schedules x --accum x --lr x --seeds", "kMaxStudyPoints (tools/cmd_study.cc)");
  if (!points.ok()) Fail(kExitBadInput, points.status().message());
  RefuseRepeats(f.schedules, "--schedules");
  RefuseRepeats(f.accum, "--accum");
  RefuseRepeats(f.lr, "--lr");
}

// Replaces every "{rank}" in `s` with the rank: one store (and log folder) per rank.
std::string ExpandRank(std::string s, int rank) {
  static const std::string kRank = "{rank}";
  for (size_t at = s.find(kRank); at != std::string::npos; at = s.find(kRank, at))
    s.replace(at, kRank.size(), std::to_string(rank));
  return s;
}

// The flags with --db and --log-dir of this rank.
StudyFlags WithRank(StudyFlags f, int rank) {
  f.db = ExpandRank(f.db, rank);
  f.log_dir = ExpandRank(f.log_dir, rank);
  return f;
}

// Trains this copy's share of the grid into f.db (its "{rank}" already replaced).
void RunShare(const StudyFlags& f, const GridShare& share) {
  const std::vector<Point> grid = Grid(f, StudyCores(share));  // checks every point: nothing made before
  const std::string logs = f.log_dir.empty() ? f.db + ".logs" : f.log_dir;
  MakeLogDir(logs, !f.log_dir.empty());
  const std::vector<StudyPoint> done = FinishedPoints(f.db);
  std::vector<size_t> todo;
  size_t owned = 0;
  for (size_t i = 0; i < grid.size(); ++i) {
    if (!share.Owns(i)) continue;
    ++owned;
    if (std::none_of(done.begin(), done.end(), [&](const StudyPoint& d) { return SamePoint(d, grid[i].id); }))
      todo.push_back(i);
  }
  const std::string who =
      share.ranks == 1 ? "study"
                       : fmt::format("study rank {} of {} ({})", share.rank, share.ranks, share.source);
  if (share.ranks > 1)
    std::printf("%s: this rank trains grid points i with i %% %d == %d: %zu of %zu\n", who.c_str(),
                share.ranks, share.rank, owned, grid.size());
  std::printf("%s: %zu points, %zu already in %s, %zu to train (%d at once)\n", who.c_str(), owned,
              owned - todo.size(), f.db.c_str(), todo.size(), f.jobs);
  std::fflush(stdout);

  std::map<pid_t, size_t> running;
  size_t next = 0, failed = 0;
  const ChildSignals signals;
  bool forwarded = false;
  while (next < todo.size() || !running.empty()) {
    while (!signals.received() && next < todo.size() && static_cast<int>(running.size()) < f.jobs) {
      const size_t i = todo[next++];
      running[Spawn(grid[i], logs + "/" + LogName(grid[i]))] = i;
    }
    if (signals.received() && !forwarded) {
      forwarded = true;  // once: each child marks its own run failed and ends
      std::printf("%s: %s: passed on to %zu running point(s); nothing more is started; a re-run resumes\n",
                  who.c_str(), signals.received() == SIGINT ? "SIGINT" : "SIGTERM", running.size());
      std::fflush(stdout);
      for (const auto& [child, point] : running) kill(child, signals.received());
    }
    if (running.empty()) break;
    int status = 0;
    const pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0 && errno == EINTR) continue;  // a signal: passed on at the top of the loop
    if (pid < 0) Fail(kExitRuntimeError, std::string("waitpid: ") + std::strerror(errno));
    auto it = running.find(pid);
    if (it == running.end()) continue;
    const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    failed += ok ? 0 : 1;
    std::printf("%s%s  %s%s\n", share.ranks > 1 ? fmt::format("[rank {}] ", share.rank).c_str() : "",
                ok ? "done  " : "FAILED", grid[it->second].name.c_str(),
                ok ? "" : fmt::format(" (see {}/{})", logs, LogName(grid[it->second])).c_str());
    std::fflush(stdout);
    running.erase(it);
  }
  if (signals.received()) signals.EndBySignal();
  std::printf("%s: trained %zu, skipped %zu, failed %zu\n", who.c_str(), todo.size() - failed,
              owned - todo.size(), failed);
  if (failed) Fail(kExitRuntimeError, fmt::format("{} of {} point(s) failed", failed, todo.size()));
}

void RunStudy(const StudyFlags& f) {
  CheckStudyFlags(f);
  if (f.updates < 1) Fail(kExitBadInput, "--updates must be at least 1");
  if (f.schedules.empty() || f.accum.empty() || f.lr.empty())
    Fail(kExitBadInput, "--schedules, --accum and --lr need a value");
  if (!(f.warmup_frac >= 0 && f.warmup_frac < 1)) Fail(kExitBadInput, "--warmup-frac must be in [0, 1)");
  if (!(f.min_lr_frac >= 0 && f.min_lr_frac <= 1)) Fail(kExitBadInput, "--min-lr-frac must be in [0, 1]");
  for (const std::string& s : f.schedules)
    if (!ParseScheduleName(s)) Fail(kExitBadInput, "--schedules: unknown schedule '" + s + "'");
  RefuseGridFlags(f.train_args);

  const Result<GridShare> share = ReadGridShare([](const char* name) { return std::getenv(name); });
  if (!share.ok()) Fail(kExitBadInput, share.status().message());
  RunShare(WithRank(f, share->rank), *share);
}

}  // namespace

void AddStudyCommand(CLI::App& app) {
  auto f = std::make_shared<StudyFlags>();
  CLI::App* cmd = app.add_subcommand("study",
                                     "train a grid of schedules x K x lr x seeds into one store, --jobs at "
                                     "once; re-running skips finished points");
  cmd->add_option("--schedules", f->schedules, "schedules to compare")->delimiter(',')->capture_default_str();
  cmd->add_option("--stages", f->stages, "pipeline stages P")->capture_default_str();
  cmd->add_option("--accum", f->accum, "micro-batches per update K, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--lr", f->lr, "peak learning rates, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--seeds", f->seeds, "seeds 1..N per point")->capture_default_str();
  cmd->add_option("--updates", f->updates, "optimizer updates per run")->capture_default_str();
  cmd->add_option("--warmup-frac", f->warmup_frac, "linear warm-up as a fraction of --updates")
      ->capture_default_str();
  cmd->add_option("--min-lr-frac", f->min_lr_frac, "cosine decay to this fraction of the peak lr")
      ->capture_default_str();
  cmd->add_option("--db", f->db,
                  "trace store every run is recorded in; \"{rank}\" in it is replaced by the launcher's rank "
                  "(one store per rank, joined by `paci runs merge`)")
      ->capture_default_str();
  cmd->add_option("--log-dir", f->log_dir,
                  "where each run's output goes (default: DB.logs; \"{rank}\" as in --db)");
  cmd->add_option("--jobs", f->jobs, "runs at once")->capture_default_str();
  cmd->allow_extras();
  cmd->footer(
      "Other flags (model, data, --eval-every, --device) are passed to every `paci train`. Under mpirun or "
      "srun, each rank trains its share of the grid (point i on rank i % ranks) into the same --db, or with "
      "--db 'study.rank{rank}.db' each into its own store (local disk; SQLite is unsafe on NFS), joined "
      "afterwards by `paci runs merge study.rank*.db --db study.db`.");

  CLI::App* report = AddStudyReportCommand(cmd);
  cmd->callback([f, cmd, report] {
    if (report->parsed()) return;
    f->train_args = cmd->remaining();
    RunStudy(*f);
  });
}

}  // namespace paci::cli
