// `paci compare RUN_A RUN_B`: two runs side by side (per-stage busy, bubble, drift, peak memory;
// with --by-kind each stage's median op time per kind), per-op start and duration residuals when
// both played the same IR, and the makespan error of A relative to B in percent. Give the
// prediction first and the measurement second.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "proto/exit_codes.h"
#include "proto/ir_names.h"
#include "store/run_metrics.h"
#include "store/trace_store.h"
#include "tools/commands.h"
#include "tools/simulated_runs.h"

namespace paci::cli {
namespace {

using nlohmann::json;
using store::RunComparison;
using store::RunMetrics;
using store::StageMetrics;

struct CompareFlags {
  std::string db = "paci.db";
  int64_t a = 0, b = 0;
  bool json = false;
  bool per_op = false;
  bool by_kind = false;
};

// Durations as people read them: 335 ns, 12.500 us, 3.250 ms, 1.200 s.
std::string Ns(double ns) {
  const double a = std::abs(ns);
  if (a < 1e3) return fmt::format("{:.0f} ns", ns);
  if (a < 1e6) return fmt::format("{:.3f} us", ns / 1e3);
  if (a < 1e9) return fmt::format("{:.3f} ms", ns / 1e6);
  return fmt::format("{:.3f} s", ns / 1e9);
}

std::string Drift(const StageMetrics* s) { return s && s->max_drift ? std::to_string(*s->max_drift) : "-"; }

const StageMetrics* StageOf(const RunMetrics& m, size_t s) {
  return s < m.stages.size() ? &m.stages[s] : nullptr;
}

// Per stage and compute-op kind, the median op time in A and in B and B / A: with a prediction as
// A and its measurement as B, which ops ran slower or faster than predicted, and where.
void PrintKinds(const CompareFlags& f, const RunComparison& c) {
  fmt::print("{:>5}  {:>4}  {:>12} {:>12}  {:>10}  {:>7} {:>7}\n", "stage", "kind",
             fmt::format("median {}", f.a), fmt::format("median {}", f.b), fmt::format("{} / {}", f.b, f.a),
             fmt::format("ops {}", f.a), fmt::format("ops {}", f.b));
  const size_t stages = std::max(c.a.stages.size(), c.b.stages.size());
  for (size_t s = 0; s < stages; ++s) {
    const StageMetrics* x = StageOf(c.a, s);
    const StageMetrics* y = StageOf(c.b, s);
    std::map<ir::OpKind, std::pair<store::KindTime, store::KindTime>> both;
    if (x)
      for (const auto& [k, t] : x->kinds) both[k].first = t;
    if (y)
      for (const auto& [k, t] : y->kinds) both[k].second = t;
    for (const auto& [k, t] : both) {
      const auto& [ta, tb] = t;
      const std::string ratio =
          ta.median_ns > 0 && tb.count > 0 ? fmt::format("{:.3f}", double(tb.median_ns) / ta.median_ns) : "-";
      fmt::print("{:>5}  {:>4}  {:>12} {:>12}  {:>10}  {:>7} {:>7}\n", s, OpKindCode(k),
                 ta.count ? Ns(ta.median_ns) : "-", tb.count ? Ns(tb.median_ns) : "-", ratio, ta.count,
                 tb.count);
    }
  }
}

void PrintText(const CompareFlags& f, const RunComparison& c) {
  fmt::print("{:>5}  {:>12} {:>12}  {:>8} {:>8}  {:>6} {:>6}  {:>14} {:>14}\n", "stage",
             fmt::format("busy {}", f.a), fmt::format("busy {}", f.b), fmt::format("bub {}", f.a),
             fmt::format("bub {}", f.b), fmt::format("dr {}", f.a), fmt::format("dr {}", f.b),
             fmt::format("peak bytes {}", f.a), fmt::format("peak bytes {}", f.b));
  const size_t stages = std::max(c.a.stages.size(), c.b.stages.size());
  for (size_t s = 0; s < stages; ++s) {
    const StageMetrics* x = StageOf(c.a, s);
    const StageMetrics* y = StageOf(c.b, s);
    fmt::print("{:>5}  {:>12} {:>12}  {:>8.4f} {:>8.4f}  {:>6} {:>6}  {:>14} {:>14}\n", s,
               x ? Ns(x->busy_ns) : "-", y ? Ns(y->busy_ns) : "-", x ? x->bubble_fraction : NAN,
               y ? y->bubble_fraction : NAN, Drift(x), Drift(y), x ? x->peak_live_bytes : 0,
               y ? y->peak_live_bytes : 0);
  }
  fmt::print("  all  bubble {:.4f} vs {:.4f}\n", c.a.bubble_fraction, c.b.bubble_fraction);
  if (f.by_kind) PrintKinds(f, c);
  if (c.same_ops) {
    const auto& r = c.summary;
    fmt::print(
        "per-op residuals ({} - {}) over {} ops: start mean|.| {}, max|.| {}, rms {}; "
        "duration mean|.| {}, max|.| {}, rms {}\n",
        f.a, f.b, r.count, Ns(r.mean_abs_start_ns), Ns(r.max_abs_start_ns), Ns(r.rms_start_ns),
        Ns(r.mean_abs_duration_ns), Ns(r.max_abs_duration_ns), Ns(r.rms_duration_ns));
    if (f.per_op) {
      fmt::print("{:>8}  {:>14}  {:>14}\n", "op", "start res ns", "dur res ns");
      for (const auto& o : c.residuals)
        fmt::print("{:>8}  {:>14}  {:>14}\n", o.op_id, o.start_residual_ns, o.duration_residual_ns);
    }
  } else {
    fmt::print("no per-op residuals: {}\n", c.why_no_residuals);
  }
  fmt::print("makespan: run {} {} vs run {} {}: error {:+.2f}%\n", f.a, Ns(c.a.makespan_ns), f.b,
             Ns(c.b.makespan_ns), c.makespan_error_pct);
}

json MetricsJson(int64_t id, const RunMetrics& m, bool by_kind) {
  json stages = json::array();
  for (const StageMetrics& s : m.stages) {
    stages.push_back({{"stage", s.stage},
                      {"busy_ns", s.busy_ns},
                      {"idle_ns", s.idle_ns},
                      {"bubble_fraction", s.bubble_fraction},
                      {"max_drift", s.max_drift ? json(*s.max_drift) : json(nullptr)},
                      {"mean_drift", s.mean_drift},
                      {"peak_live_bytes", s.peak_live_bytes},
                      {"ops", s.ops}});
    if (by_kind) {
      json kinds = json::array();
      for (const auto& [k, t] : s.kinds)
        kinds.push_back({{"kind", OpKindCode(k)}, {"count", t.count}, {"median_ns", t.median_ns}});
      stages.back()["kinds"] = kinds;
    }
  }
  return {{"run", id},
          {"makespan_ns", m.makespan_ns},
          {"bubble_fraction", m.bubble_fraction},
          {"stages", stages}};
}

void PrintJson(const CompareFlags& f, const RunComparison& c) {
  json out = {{"a", MetricsJson(f.a, c.a, f.by_kind)},
              {"b", MetricsJson(f.b, c.b, f.by_kind)},
              {"same_ops", c.same_ops},
              {"makespan_error_pct", c.makespan_error_pct}};
  if (c.same_ops) {
    const auto& r = c.summary;
    out["residuals"] = {{"count", r.count},
                        {"mean_abs_start_ns", r.mean_abs_start_ns},
                        {"max_abs_start_ns", r.max_abs_start_ns},
                        {"rms_start_ns", r.rms_start_ns},
                        {"mean_abs_duration_ns", r.mean_abs_duration_ns},
                        {"max_abs_duration_ns", r.max_abs_duration_ns},
                        {"rms_duration_ns", r.rms_duration_ns}};
    if (f.per_op) {
      json ops = json::array();
      for (const auto& o : c.residuals) ops.push_back({o.op_id, o.start_residual_ns, o.duration_residual_ns});
      out["per_op_columns"] = {"op_id", "start_residual_ns", "duration_residual_ns"};
      out["per_op"] = ops;
    }
  } else {
    out["why_no_residuals"] = c.why_no_residuals;
  }
  fmt::print("{}\n", out.dump(2));
}

void Compare(const CompareFlags& f) {
  auto store = OpenStoreForReading(f.db);
  if (!store.ok()) Fail(kExitBadInput, store.status().message());
  auto a = store->LoadRun(f.a);
  if (!a.ok()) Fail(a.status());
  auto b = store->LoadRun(f.b);
  if (!b.ok()) Fail(b.status());
  const RunComparison c = store::CompareRuns(*a, *b);
  if (f.json)
    PrintJson(f, c);
  else
    PrintText(f, c);
}

}  // namespace

void AddCompareCommand(CLI::App& app) {
  auto flags = std::make_shared<CompareFlags>();
  CLI::App* cmd =
      app.add_subcommand("compare", "two runs side by side; makespan error of RUN_A relative to RUN_B");
  cmd->add_option("RUN_A", flags->a, "first run id (e.g. the prediction)")->required();
  cmd->add_option("RUN_B", flags->b, "second run id (e.g. the measurement)")->required();
  cmd->add_option("--db", flags->db, "trace store file")->capture_default_str();
  cmd->add_flag("--json", flags->json, "print JSON instead of a table");
  cmd->add_flag("--per-op", flags->per_op, "also list every op's residuals");
  cmd->add_flag(
      "--by-kind", flags->by_kind,
      "also list each stage's median op time per kind (F, B, I, W, OPT) in both runs and their ratio");
  cmd->callback([flags] { Compare(*flags); });
}

}  // namespace paci::cli
