// `paci profile`: measures per-layer op times and bytes of the GPT model on this machine with the
// executor's own layer code (exec/profile.h), and the slowdown when N stages share the cores;
// writes a versioned profile file (sim/profile_file.h) and prints a table. `--profiles N` takes N
// profiles back to back and prints how far apart they are per op kind (sim/profile_repeat.h).
// `--show FILE` reads a profile back (refusing a damaged one, naming the field) and prints its table.
// Exit codes: 0 ok, 2 bad flags or a bad profile file, 1 a write failure.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "exec/model/affinity.h"
#include "exec/model/profile.h"
#include "proto/exit_codes.h"
#include "sim/profile_file.h"
#include "sim/profile_repeat.h"
#include "tools/commands.h"
#include "tools/gpt_flags.h"

namespace paci::cli {
namespace {

// --profiles: enough to see whether a host repeats, few enough that a typo does not run for hours.
constexpr int kMaxProfiles = 10;

struct ProfileFlags {
  exec::ProfileOptions o;
  std::string output = "profile.json", show;
  int colocate = -1;
  int profiles = 1;
  CLI::Option* colocate_opt = nullptr;
  CLI::Option* profiles_opt = nullptr;
};

std::string Cell(double ns, double rse) { return fmt::format("{:9.4f} ±{:4.1f}%", ns / 1e6, rse * 100); }

void PrintTable(const ir::Profile& p) {
  const ir::ModelShape& m = p.model();
  fmt::print(
      "profile: {} blocks, dim {}, {} heads, seq {}, vocab {}, micro-batch {}, {}, {} thread(s) per stage, "
      "{}\n",
      m.layers(), m.dim(), m.heads(), m.seq(), m.vocab(), p.microbatch_size(), p.precision(), p.threads(),
      p.device());
  fmt::print("{:>5} {:<9} {:>16} {:>16} {:>16} {:>16} {:>5} {:>9} {:>9} {:>9}\n", "layer", "kind",
             "forward_ms", "bwd_input_ms", "bwd_weight_ms", "optimizer_ms", "reps", "act_KiB", "weight_KiB",
             "msg_KiB");
  double f = 0, bi = 0, bw = 0, opt = 0;
  for (const ir::LayerProfile& l : p.layers()) {
    fmt::print("{:>5} {:<9} {} {} {} {} {:>5} {:>9.1f} {:>9.1f} {:>9.1f}\n", l.index(), l.kind(),
               Cell(l.forward_ns(), l.forward_rse()), Cell(l.backward_input_ns(), l.backward_input_rse()),
               Cell(l.backward_weight_ns(), l.backward_weight_rse()),
               Cell(l.optimizer_ns(), l.optimizer_rse()), l.repetitions(), l.activation_bytes() / 1024.0,
               l.weight_bytes() / 1024.0, l.message_bytes() / 1024.0);
    f += l.forward_ns();
    bi += l.backward_input_ns();
    bw += l.backward_weight_ns();
    opt += l.optimizer_ns();
  }
  fmt::print("{:>5} {:<9} {:>16.4f} {:>16.4f} {:>16.4f} {:>16.4f}\n", "sum", "", f / 1e6, bi / 1e6, bw / 1e6,
             opt / 1e6);
  if (p.cold_records() > 0) {
    const std::vector<sim::KindSum> k = sim::ProfileKindSums(p);  // [4], [5], [6]: the cold kinds
    const std::string note =
        fmt::format("(caches cold: {} records, {:.0f} MiB, against {:.0f} MiB hot)", p.cold_records(),
                    p.cold_working_set_bytes() / 1048576.0, p.hot_working_set_bytes() / 1048576.0);
    fmt::print("{:>5} {:<9} {:>16.4f} {:>16.4f} {:>16.4f}   {}\n", "cold", "", k[4].value / 1e6,
               k[5].value / 1e6, k[6].value / 1e6, note);
  }
  for (const ir::ColocationFactor& c : p.colocation())
    fmt::print("co-location: {} stages sharing the device{}: ops x{:.3f} ±{:.1f}%{}{}\n", c.stages(),
               c.pinned() ? " (pinned as paci train pins them)" : "", c.slowdown(), c.rse() * 100,
               c.op_stretch() > 0
                   ? fmt::format("; taking turns on {} CPUs, each op x{:.3f}", p.cpus(), c.op_stretch())
                   : "",
               c.op_cpu_stretch() > 0 ? fmt::format(" (its CPU time x{:.3f})", c.op_cpu_stretch()) : "");
  if (p.halves_size() > 0) {
    std::string halves;
    for (const ir::RepeatCheck& h : p.halves())
      halves += fmt::format(" {} {:.1f}%", h.kind(), h.difference() * 100);
    fmt::print("repeatability: first against second half of the repetitions:{}; CPU share {:.1f}%\n", halves,
               p.cpu_share() * 100);
  }
  if (!p.warning().empty()) fmt::print("warning: {}\n", p.warning());
}

// Per kind, each profile's sum and the largest difference from the first (sim::SummarizeRepeats);
// a disagreement beyond the tolerance becomes the first profile's warning.
void PrintRepeats(std::vector<ir::Profile>& ps) {
  const sim::RepeatSummary r = sim::SummarizeRepeats(ps, exec::kProfileRepeatTolerance);
  std::vector<std::vector<sim::KindSum>> sums;
  for (const ir::Profile& p : ps) sums.push_back(sim::ProfileKindSums(p));
  fmt::print("\n{} profiles back to back, sums over layers (ms; co-location: the factor):\n", ps.size());
  fmt::print("{:<22}", "kind");
  for (size_t i = 0; i < ps.size(); ++i) fmt::print(" {:>10}", fmt::format("profile {}", i + 1));
  fmt::print(" {:>11}\n", "difference");
  for (size_t k = 0; k < r.first.size(); ++k) {
    const bool coloc = r.first[k].kind.rfind("co-location", 0) == 0;
    fmt::print("{:<22}", r.first[k].kind);
    for (const std::vector<sim::KindSum>& s : sums)
      fmt::print(" {:>10.4f}", k < s.size() ? s[k].value / (coloc ? 1 : 1e6) : 0.0);
    fmt::print(" {:>10.1f}%\n", r.worst[k] * 100);
  }
  if (r.warning.empty()) {
    fmt::print("the profiles agree within {:.0f}% on every kind\n", exec::kProfileRepeatTolerance * 100);
    return;
  }
  fmt::print("warning: {}\n", r.warning);
  ps[0].set_warning(ps[0].warning().empty() ? r.warning : ps[0].warning() + "; " + r.warning);
}

void Run(ProfileFlags& f) {
  if (!f.show.empty()) {
    if (f.profiles_opt->count() > 0) Fail(kExitBadInput, "--profiles: does not apply with --show");
    Result<ir::Profile> p = sim::LoadProfileFile(f.show);
    if (!p.ok()) Fail(kExitBadInput, "--show: " + p.status().message());
    PrintTable(*p);
    return;
  }
  const int cores = static_cast<int>(exec::allowed_cpus().size());  // taskset and cpusets included
  if (f.colocate_opt->count() > 0 && f.colocate != 0 && f.colocate < 2)
    Fail(kExitBadInput, "--colocate: must be 0 (none) or >= 2");
  // The default measures every core count the machine has, up to the limit a given --colocate is held to.
  f.o.max_colocated = f.colocate_opt->count() > 0 ? f.colocate : std::min(cores, exec::kMaxColocated);
  if (f.o.max_repetitions < f.o.min_repetitions)
    Fail(kExitBadInput, "--max-repetitions: must be >= --min-repetitions");
  if (f.profiles < 1 || f.profiles > kMaxProfiles)
    Fail(kExitBadInput, fmt::format("--profiles: must be in 1..{}, got {}", kMaxProfiles, f.profiles));
  std::vector<ir::Profile> ps;
  for (int i = 0; i < f.profiles; ++i) {
    Result<ir::Profile> p = exec::MeasureProfile(
        f.o, [](const std::string& line) { std::fprintf(stderr, "paci profile: %s\n", line.c_str()); });
    if (!p.ok()) Fail(kExitBadInput, p.status().message());
    if (Status st = sim::ValidateProfile(*p, "measured profile"); !st.ok())
      Fail(kExitRuntimeError, st.message());
    ps.push_back(std::move(*p));
  }
  for (size_t i = 1; i < ps.size(); ++i) {
    fmt::print("profile {}:\n", i + 1);
    PrintTable(ps[i]);
  }
  if (ps.size() > 1) PrintRepeats(ps);
  if (Status st = sim::WriteProfileFile(ps[0], f.output); !st.ok())
    Fail(kExitRuntimeError, "-o: " + st.message());
  if (ps.size() > 1) fmt::print("\nprofile 1 (the one written):\n");
  PrintTable(ps[0]);
  fmt::print("wrote {}\n", f.output);
}

}  // namespace

void AddProfileCommand(CLI::App& app) {
  auto f = std::make_shared<ProfileFlags>();
  CLI::App* cmd =
      app.add_subcommand("profile", "Measure per-layer costs and co-location slowdown on this machine");
  exec::ProfileOptions& o = f->o;
  AddGptShapeFlags(cmd, &o.model, &o.model.block_size);
  cmd->add_option("--microbatch-size", o.B, "micro-batch size b")->capture_default_str();
  cmd->add_option("--threads", o.threads, "kernel threads per stage")->capture_default_str();
  cmd->add_option("--target-rse", o.target_rse, "repeat until each mean's relative standard error is below")
      ->capture_default_str();
  cmd->add_option("--min-repetitions", o.min_repetitions, "fewest repetitions per layer")
      ->capture_default_str();
  cmd->add_option("--max-repetitions", o.max_repetitions, "most repetitions per layer")
      ->capture_default_str();
  cmd->add_option("--max-seconds-per-layer", o.max_seconds_per_layer,
                  "time budget per layer (all layers are timed round-robin within layers x this)")
      ->capture_default_str();
  f->colocate_opt =
      cmd->add_option("--colocate", f->colocate,
                      "measure co-location for N = 2..this many stages (default: the cores; 0: none)");
  cmd->add_option("--colocate-seconds", o.colocation_seconds, "measuring time per N")->capture_default_str();
  f->profiles_opt =
      cmd->add_option(
             "--profiles", f->profiles,
             "take this many profiles back to back, print their differences per op kind, write the first "
             "(with a warning when they differ by more than 3%)")
          ->capture_default_str();
  cmd->add_option("--seed", o.seed, "seed of weights and inputs")->capture_default_str();
  cmd->add_option("-o,--output", f->output, "profile file to write")->capture_default_str();
  cmd->add_option("--show", f->show, "print a profile file instead of measuring (checks it)");
  cmd->callback([f] { Run(*f); });
}

}  // namespace paci::cli
