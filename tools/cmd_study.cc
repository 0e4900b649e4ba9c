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
#include "study/study_grid.h"
#include "tools/child_signals.h"
#include "tools/commands.h"
#include "tools/grid_share.h"
#include "tools/point_claim.h"
#include "tools/study_point.h"

extern char** environ;

namespace paci::cli {
namespace {

using study::PointOfRun;
using study::SamePoint;
using study::StudyPoint;

struct StudyFlags {
  study::GridFlags grid;
  // The list flags' items as CLI11 splits them at commas; read into `grid` by study/study_grid.h.
  std::vector<std::string> schedules{"paci", "1f1b-flush"}, accum{"4"}, lr{"0.001"};
  std::string db = "study.db";
  std::string log_dir;                  // default: <db>.logs
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
  // jobs and stages are bounded by CheckGridFlags, so this product fits; checked all the same.
  const std::optional<int64_t> shares = CheckedMul<int64_t>(f.grid.jobs, f.grid.stages);
  if (!shares || *shares < 1) Fail(kExitBadInput, "--jobs x --stages: out of range");
  const int threads = static_cast<int>(std::max<int64_t>(1, cores / *shares));
  bool threads_given = false;
  for (const std::string& a : f.train_args) threads_given |= a.rfind("--threads", 0) == 0;
  std::vector<Point> grid;
  std::set<std::string> keys;
  for (study::GridPoint& g : study::ExpandGrid(f.grid, f.db, f.train_args)) {
    Point p{std::move(g.name), std::move(g.args), {}};
    if (!threads_given) p.args.insert(p.args.end(), {"--threads", std::to_string(threads)});
    Result<StudyPoint> id = PointOfTrainArgs({p.args.begin() + 1, p.args.end()});
    if (!id.ok()) Fail(kExitBadInput, id.status().message());  // PointOfTrainArgs refuses what train would
    p.id = std::move(*id);
    // Two values that train one point (issue 25: it trained twice and pooled as two seeds).
    if (!keys.insert(study::PointKey(p.id)).second)
      Fail(kExitBadInput, "the grid names one point twice (" + p.name +
                              "): two values of a list train the same run; give each once");
    grid.push_back(std::move(p));
  }
  return grid;
}

// What the store says of the grid's points: complete (a re-run skips them) or being trained by a
// live process (another study, an orphaned child, a `paci train` by hand). A 'running' run whose
// writer is gone (RunState::kIncomplete) is neither: it is dead, and its point is trained again.
struct StoredPoints {
  std::vector<StudyPoint> done, running;
  bool Done(const StudyPoint& p) const { return Holds(done, p); }
  bool Running(const StudyPoint& p) const { return Holds(running, p); }
  static bool Holds(const std::vector<StudyPoint>& v, const StudyPoint& p) {
    return std::any_of(v.begin(), v.end(), [&](const StudyPoint& d) { return SamePoint(d, p); });
  }
};

StoredPoints ReadStoredPoints(const std::string& db) {
  StoredPoints stored;
  if (!std::filesystem::exists(db)) return stored;
  Result<store::TraceStore> s = store::TraceStore::Open(db);
  if (!s.ok()) Fail(kExitBadInput, "--db: " + s.status().message());
  Result<std::vector<store::RunRecord>> runs = s->ListRuns();
  if (!runs.ok()) Fail(kExitRuntimeError, "--db: " + runs.status().message());
  for (const store::RunRecord& r : *runs) {
    if (r.info.kind != store::RunKind::kMeasured) continue;
    std::optional<StudyPoint> p = PointOfRun(r);
    if (!p) continue;
    if (r.state == store::RunState::kComplete) stored.done.push_back(std::move(*p));
    if (r.state == store::RunState::kRunning) stored.running.push_back(std::move(*p));
  }
  return stored;
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

// Starts `paci train` for one point with stdout and stderr in `log` and the point's claim as fd
// PointClaim::kChildFd; returns its pid.
pid_t Spawn(const Point& p, const std::string& log, const PointClaim& claim) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, claim.fd(), PointClaim::kChildFd);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  if (const size_t gone = self.rfind(" (deleted)"); gone != std::string::npos) self.resize(gone);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(self.c_str()));
  for (const std::string& a : p.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  // This very binary, not the file now at its path: a rebuild during a long study replaced (or
  // deleted) that file, so every later point failed to start, or would have trained with another
  // build than the points before it. /proc/self/exe still names the inode this process runs.
  const int err = posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv.data(), environ);
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

// The point's claim (tools/point_claim.h), when no other process trains it: then the store is
// read again, as another study may have finished the point, or a process that holds no claim (a
// `paci train` by hand, a study from before claims) be training it, since the grid was planned.
std::optional<PointClaim> ClaimPoint(const std::string& db, const Point& p) {
  Result<std::optional<PointClaim>> claim = PointClaim::TryClaim(db, study::PointKey(p.id));
  if (!claim.ok()) Fail(kExitRuntimeError, "--db: " + claim.status().message());
  if (!*claim) return std::nullopt;
  const StoredPoints now = ReadStoredPoints(db);
  if (now.Done(p.id) || now.Running(p.id)) return std::nullopt;
  return std::move(*claim);
}

// The list flags read and every grid number checked, before anything is made.
void ReadGridFlags(StudyFlags& f) {
  Result<std::vector<std::string>> schedules = study::ReadScheduleList(f.schedules);
  if (!schedules.ok()) Fail(kExitBadInput, schedules.status().message());
  Result<std::vector<uint32_t>> accum = study::ReadAccumList(f.accum);
  if (!accum.ok()) Fail(kExitBadInput, accum.status().message());
  Result<std::vector<double>> lr = study::ReadLrList(f.lr);
  if (!lr.ok()) Fail(kExitBadInput, lr.status().message());
  f.grid.schedules = std::move(*schedules);
  f.grid.accum = std::move(*accum);
  f.grid.lr = std::move(*lr);
  if (Status st = study::CheckGridFlags(f.grid); !st.ok()) Fail(kExitBadInput, st.message());
}

// Replaces every "{rank}" in `s` with the rank: one store (and log folder) per rank.
std::string ExpandRank(std::string s, int rank) {
  static const std::string kRank = "{rank}";
  for (size_t at = s.find(kRank); at != std::string::npos; at = s.find(kRank, at))
    s.replace(at, kRank.size(), std::to_string(rank));
  return s;
}

// A compensation given both ways ("paci+rewind=1" and --staleness) would reach train twice.
void RefuseTwoCompensations(const StudyFlags& f) {
  const bool variant = std::any_of(f.grid.schedules.begin(), f.grid.schedules.end(),
                                   [](const std::string& s) { return s.find('+') != std::string::npos; });
  if (!variant) return;
  for (const std::string& a : f.train_args) {
    const std::string flag = a.substr(0, a.find('='));
    if (flag == "--staleness" || flag == "--drift-lr-scale")
      Fail(kExitBadInput,
           flag + ": the --schedules variants (e.g. paci+rewind=1) already name their compensation");
  }
}

void RunStudy(StudyFlags& f) {
  ReadGridFlags(f);
  RefuseGridFlags(f.train_args);
  RefuseTwoCompensations(f);

  const Result<GridShare> share = ReadGridShare([](const char* name) { return std::getenv(name); });
  if (!share.ok()) Fail(kExitBadInput, share.status().message());
  f.db = ExpandRank(f.db, share->rank);  // before the grid: each point's train arguments name the store
  f.log_dir = ExpandRank(f.log_dir, share->rank);
  const std::vector<Point> grid = Grid(f, StudyCores(*share));  // checks every point: nothing made before
  const std::string logs = f.log_dir.empty() ? f.db + ".logs" : f.log_dir;
  MakeLogDir(logs, !f.log_dir.empty());
  const StoredPoints stored = ReadStoredPoints(f.db);
  std::vector<size_t> todo;
  size_t owned = 0;
  for (size_t i = 0; i < grid.size(); ++i) {
    if (!share->Owns(i)) continue;
    ++owned;
    if (!stored.Done(grid[i].id)) todo.push_back(i);
  }
  const std::string who =
      share->ranks == 1 ? "study"
                        : fmt::format("study rank {} of {} ({})", share->rank, share->ranks, share->source);
  const std::string rank_tag = share->ranks > 1 ? fmt::format("[rank {}] ", share->rank) : "";
  if (share->ranks > 1)
    std::printf("%s: this rank trains grid points i with i %% %d == %d: %zu of %zu\n", who.c_str(),
                share->ranks, share->rank, owned, grid.size());
  std::printf("%s: %zu points, %zu already in %s, %zu to train (%d at once)\n", who.c_str(), owned,
              owned - todo.size(), f.db.c_str(), todo.size(), f.grid.jobs);
  std::fflush(stdout);

  std::map<pid_t, std::pair<size_t, PointClaim>> running;  // each child's point and its claim
  size_t next = 0, failed = 0, elsewhere = 0;
  const ChildSignals signals;
  bool forwarded = false;
  while (next < todo.size() || !running.empty()) {
    while (!signals.received() && next < todo.size() && static_cast<int>(running.size()) < f.grid.jobs) {
      const size_t i = todo[next++];
      std::optional<PointClaim> claim = ClaimPoint(f.db, grid[i]);
      if (!claim) {
        ++elsewhere;
        std::printf("%sbusy    %s (another process trained it or is training it)\n", rank_tag.c_str(),
                    grid[i].name.c_str());
        std::fflush(stdout);
        continue;
      }
      const pid_t pid = Spawn(grid[i], logs + "/" + LogName(grid[i]), *claim);
      running.emplace(pid, std::make_pair(i, std::move(*claim)));
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
    const Point& point = grid[it->second.first];
    std::printf("%s%s  %s%s\n", rank_tag.c_str(), ok ? "done  " : "FAILED", point.name.c_str(),
                ok ? "" : fmt::format(" (see {}/{})", logs, LogName(point)).c_str());
    std::fflush(stdout);
    running.erase(it);
  }
  if (signals.received()) signals.EndBySignal();
  const size_t trained = todo.size() - elsewhere - failed;
  std::printf("%s: trained %zu, skipped %zu, failed %zu\n", who.c_str(), trained,
              owned - todo.size() + elsewhere, failed);
  if (failed)
    Fail(kExitRuntimeError, fmt::format("{} of {} point(s) failed", failed, todo.size() - elsewhere));
}

}  // namespace

void AddStudyCommand(CLI::App& app) {
  auto f = std::make_shared<StudyFlags>();
  CLI::App* cmd = app.add_subcommand("study",
                                     "train a grid of schedules x K x lr x seeds into one store, --jobs at "
                                     "once; re-running skips finished points");
  cmd->add_option("--schedules", f->schedules, "schedules to compare")->delimiter(',')->capture_default_str();
  cmd->add_option("--stages", f->grid.stages, "pipeline stages P")->capture_default_str();
  cmd->add_option("--accum", f->accum, "micro-batches per update K, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--lr", f->lr, "peak learning rates, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--seeds", f->grid.seeds, "seeds 1..N per point")->capture_default_str();
  cmd->add_option("--updates", f->grid.updates, "optimizer updates per run")->capture_default_str();
  cmd->add_option("--warmup-frac", f->grid.warmup_frac, "linear warm-up as a fraction of --updates")
      ->capture_default_str();
  cmd->add_option("--min-lr-frac", f->grid.min_lr_frac, "cosine decay to this fraction of the peak lr")
      ->capture_default_str();
  cmd->add_option("--db", f->db,
                  "trace store every run is recorded in; \"{rank}\" in it is replaced by the launcher's rank "
                  "(one store per rank, joined by `paci runs merge`)")
      ->capture_default_str();
  cmd->add_option("--log-dir", f->log_dir,
                  "where each run's output goes (default: DB.logs; \"{rank}\" as in --db)");
  cmd->add_option("--jobs", f->grid.jobs, "runs at once")->capture_default_str();
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
