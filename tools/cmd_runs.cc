// `paci runs list|show|delete|link|merge`: what is in a trace store, one run in detail, removing
// runs, recording which prediction a measured run belongs to, and (cmd_runs_merge.cc) joining stores.
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proto/exit_codes.h"
#include "proto/ir_names.h"
#include "store/run_metrics.h"
#include "store/trace_store.h"
#include "tools/commands.h"
#include "tools/simulated_runs.h"

namespace paci::cli {
namespace {

using store::RunRecord;
using store::TraceStore;

TraceStore OpenOrFail(const std::string& db) {
  auto store = OpenExistingStore(db);
  if (!store.ok()) Fail(store.status());
  return std::move(*store);
}

// Listing and showing only read: the file is never written (simulated_runs.h).
TraceStore OpenForReading(const std::string& db) {
  auto store = OpenStoreForReading(db);
  if (!store.ok()) Fail(store.status());
  return std::move(*store);
}

std::string Utc(int64_t unix_ns) {
  const std::time_t secs = static_cast<std::time_t>(unix_ns / 1000000000);
  return fmt::format("{:%Y-%m-%d %H:%M:%S}", fmt::gmtime(secs));
}

std::string ScheduleOf(const RunRecord& r) {
  const ir::PipelineSpec& spec = r.info.spec;
  if (spec.stages() == 0) return "-";
  return fmt::format("{} P={}", ScheduleName(spec.kind()), spec.stages());
}

template <typename T>
std::string OrDash(const std::optional<T>& v) {
  return v ? fmt::format("{}", *v) : "-";
}

// A learning rate as configured (stored from a float: 0.0010000000474974513 reads 0.001).
std::string Lr(const std::optional<double>& lr) { return lr ? fmt::format("{:.4g}", *lr) : "-"; }

void List(const std::string& db) {
  TraceStore store = OpenForReading(db);
  auto runs = store.ListRuns();
  if (!runs.ok()) Fail(runs.status());
  // ops marked 'r': replayed (re-simulated when read, store/README.md).
  fmt::print("{:>5}  {:<9}  {:<10}  {:>10}  {:<20}  {:>4}  {:>8}  {:>6}  {:<19}  {}\n", "id", "kind",
             "status", "ops", "schedule", "K", "lr", "seed", "started (UTC)", "name");
  for (const RunRecord& r : *runs) {
    const store::RunConfig& c = r.info.config;
    const bool replayed = r.op_storage == store::OpStorage::kReplayed;
    fmt::print("{:>5}  {:<9}  {:<10}  {:>10}  {:<20}  {:>4}  {:>8}  {:>6}  {:<19}  {}\n", r.id,
               RunKindName(r.info.kind), RunStateName(r.state),
               fmt::format("{}{}", r.op_count, replayed ? " r" : ""), ScheduleOf(r), OrDash(c.accum),
               Lr(c.lr), OrDash(c.seed), Utc(r.start_unix_ns), r.info.name);
  }
}

std::string ConfigLine(const store::RunConfig& c) {
  auto text = [](const std::string& s) { return s.empty() ? std::string("-") : s; };
  return fmt::format(
      "schedule {}  P {}  K {}  micro-batch size {}  tokens/update {}  lr {}  seed {}  "
      "precision {}  device {}",
      text(c.schedule), OrDash(c.stages), OrDash(c.accum), OrDash(c.microbatch_size),
      OrDash(c.tokens_per_update), Lr(c.lr), OrDash(c.seed), text(c.precision), text(c.device));
}

void Show(const std::string& db, int64_t id) {
  TraceStore store = OpenForReading(db);
  auto run = store.LoadRun(id);
  if (!run.ok()) Fail(run.status());
  const RunRecord& r = run->record;
  fmt::print("run {}\n  kind: {}\n  status: {}{}\n  name: {}\n", r.id, RunKindName(r.info.kind),
             RunStateName(r.state), r.message.empty() ? "" : " (" + r.message + ")", r.info.name);
  fmt::print("  schedule: {}  (IR {})\n  spec: {}\n", ScheduleOf(r),
             r.info.schedule ? "stored" : "not stored", r.info.spec.ShortDebugString());
  fmt::print("  cost model: {}\n  description: {}\n", r.info.cost_model ? "stored" : "not stored",
             r.info.description);
  fmt::print("  config: {}\n", ConfigLine(r.info.config));
  fmt::print("  ops kept: {}\n", r.op_storage == store::OpStorage::kReplayed
                                     ? "replayed (re-simulated from the IR and cost model when read)"
                                     : "stored");
  fmt::print("  host: {} (writer pid {})\n  code revision: {}\n", r.info.host, r.writer_pid,
             r.info.code_revision);
  fmt::print("  started: {} UTC\n  ended: {}\n", Utc(r.start_unix_ns),
             r.end_unix_ns ? Utc(*r.end_unix_ns) + " UTC" : "-");
  fmt::print("  ops: {}  updates: {}  memory samples: {}\n", run->ops.size(), run->updates.size(),
             run->memory.size());
  const store::RunMetrics m = store::ComputeRunMetrics(*run);
  if (run->ops.empty())  // e.g. merged --without-ops: the stored metrics below still hold
    fmt::print("  makespan: -  bubble: -  (no ops stored)\n");
  else
    fmt::print("  makespan: {} ns  bubble: {:.4f}\n", m.makespan_ns, m.bubble_fraction);
  for (const auto& [key, value] : run->metrics) fmt::print("  metric {}: {}\n", key, value);
  auto links = store.LinksOf(id);
  if (!links.ok()) Fail(links.status());
  for (const auto& [pred, meas] : *links) fmt::print("  link: run {} predicts run {}\n", pred, meas);
}

void Delete(const std::string& db, const std::vector<int64_t>& ids) {
  TraceStore store = OpenOrFail(db);
  // All or none: a bad id among them deletes nothing (issue 25).
  if (Status st = store.DeleteRuns(ids); !st.ok()) Fail(st);
  for (int64_t id : ids) fmt::print("deleted run {}\n", id);
}

void Link(const std::string& db, int64_t predicted, int64_t measured) {
  TraceStore store = OpenOrFail(db);
  Status st = store.LinkPrediction(predicted, measured);
  if (!st.ok()) Fail(st);
  fmt::print("run {} predicts run {}\n", predicted, measured);
}

struct RunsFlags {
  std::string db = "paci.db";
  int64_t id = 0;
  std::vector<int64_t> ids;
  int64_t predicted = 0, measured = 0;
};

void AddDbFlag(CLI::App* app, RunsFlags* flags) {
  app->add_option("--db", flags->db, "trace store file")->capture_default_str();
}

}  // namespace

void AddRunsCommand(CLI::App& app) {
  auto flags = std::make_shared<RunsFlags>();
  CLI::App* runs = app.add_subcommand("runs", "list, show, delete, link or merge runs in a trace store");
  runs->require_subcommand(1);
  CLI::App* list = runs->add_subcommand("list", "one line per run");
  AddDbFlag(list, flags.get());
  list->callback([flags] { List(flags->db); });
  CLI::App* show = runs->add_subcommand("show", "one run in detail");
  show->add_option("ID", flags->id, "run id")->required();
  AddDbFlag(show, flags.get());
  show->callback([flags] { Show(flags->db, flags->id); });
  CLI::App* del = runs->add_subcommand("delete", "delete runs with their events");
  del->add_option("ID", flags->ids, "run ids")->required();
  AddDbFlag(del, flags.get());
  del->callback([flags] { Delete(flags->db, flags->ids); });
  CLI::App* link = runs->add_subcommand("link", "record that a predicted run predicts a measured one");
  link->add_option("PREDICTED", flags->predicted, "predicted run id")->required();
  link->add_option("MEASURED", flags->measured, "measured run id")->required();
  AddDbFlag(link, flags.get());
  link->callback([flags] { Link(flags->db, flags->predicted, flags->measured); });
  AddRunsMergeCommand(runs);
}

}  // namespace paci::cli
