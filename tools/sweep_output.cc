// The CSV and JSON of `paci sweep`'s rows. See sweep_output.h.
#include "tools/sweep_output.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <nlohmann/json.hpp>

#include "proto/ir_names.h"
#include "sched/staleness.h"

namespace paci::cli {
namespace {

const char* kColumns[] = {"schedule",
                          "staleness",
                          "variant",
                          "stages",
                          "accum",
                          "chunks",
                          "microbatches",
                          "makespan_ms",
                          "throughput_microbatches_per_s",
                          "tokens_per_s",
                          "bubble_fraction",
                          "peak_memory_bytes",
                          "transient_bytes",
                          "peak_activations",
                          "weight_versions",
                          "max_drift",
                          "mean_drift",
                          "optimizer_updates",
                          "ops",
                          "error"};

nlohmann::ordered_json RowJson(const sim::SweepRow& r, const study::TtaEntry* tta) {
  nlohmann::ordered_json j = {{"schedule", ScheduleName(r.kind)},
                              {"staleness", StalenessText(r.staleness)},
                              {"variant", SweepVariant(r)},
                              {"stages", r.stages},
                              {"accum", r.accum},
                              {"chunks", r.chunks},
                              {"microbatches", r.microbatches},
                              {"makespan_ms", r.makespan_ns / 1e6},
                              {"throughput_microbatches_per_s", r.throughput_microbatches_per_s},
                              {"tokens_per_s", r.tokens_per_s},
                              {"bubble_fraction", r.bubble_fraction},
                              {"peak_memory_bytes", r.peak_memory_bytes},
                              {"transient_bytes", r.transient_bytes},
                              {"peak_activations", r.peak_activations},
                              {"weight_versions", r.weight_versions},
                              {"max_drift", r.max_drift},
                              {"mean_drift", r.mean_drift},
                              {"optimizer_updates", r.optimizer_updates},
                              {"ops", r.ops},
                              {"error", r.error}};
  if (r.has_steady()) {
    // The default sweep's headline: what a long run tends to (the columns above are the run's).
    j["steady_throughput_microbatches_per_s"] = r.steady_throughput_microbatches_per_s;
    j["steady_tokens_per_s"] = r.steady_tokens_per_s;
    j["steady_bubble_fraction"] = r.steady_bubble_fraction;
    j["steady_updates"] = r.steady_updates;
  }
  if (!r.stage_costs.empty()) {
    // The model's derived costs per stage (the layer split the partitioner chose for this point).
    j["per_stage"] = nlohmann::ordered_json::array();
    for (size_t s = 0; s < r.stage_costs.size(); ++s) {
      const ir::StageCost& c = r.stage_costs[s];
      j["per_stage"].push_back({{"stage", s},
                                {"layers", c.layers()},
                                {"forward_ms", c.forward_ns() / 1e6},
                                {"backward_input_ms", c.backward_input_ns() / 1e6},
                                {"backward_weight_ms", c.backward_weight_ns() / 1e6},
                                {"optimizer_ms", c.optimizer_ns() / 1e6},
                                {"activation_bytes", c.activation_bytes()},
                                {"weight_bytes", c.weight_bytes()},
                                {"transient_bytes", c.transient_bytes()},
                                {"message_bytes", c.message_bytes()}});
    }
  }
  if (tta) {
    j["seconds_per_update"] = tta->timing.period_s;
    j["updates_to_target"] =
        tta->updates_to_target ? nlohmann::ordered_json(*tta->updates_to_target) : nlohmann::ordered_json();
    j["time_to_target_s"] =
        tta->seconds_to_target ? nlohmann::ordered_json(*tta->seconds_to_target) : nlohmann::ordered_json();
    j["speedup_vs_best_flush"] = tta->speedup_vs_best_flush
                                     ? nlohmann::ordered_json(*tta->speedup_vs_best_flush)
                                     : nlohmann::ordered_json();
  }
  return j;
}

std::string CsvCell(const nlohmann::ordered_json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) {
    std::string s = v.get<std::string>(), out = "\"";
    for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return s.find_first_of(",\"\n") == std::string::npos ? s : out + "\"";
  }
  if (v.is_number_float()) return fmt::format("{:.10g}", v.get<double>());
  return v.dump();
}

}  // namespace

std::string SweepVariant(const sim::SweepRow& r) {
  return ScheduleVariantText({ScheduleName(r.kind), r.staleness});
}

std::string FormatSweepRows(const std::vector<sim::SweepRow>& rows, const std::vector<study::TtaEntry>& tta,
                            const std::string& format) {
  if (format == "json") {
    nlohmann::ordered_json all = nlohmann::ordered_json::array();
    for (size_t i = 0; i < rows.size(); ++i) all.push_back(RowJson(rows[i], tta.empty() ? nullptr : &tta[i]));
    return all.dump(2) + "\n";
  }
  std::vector<std::string> cols(std::begin(kColumns), std::end(kColumns));
  const bool steady =
      std::any_of(rows.begin(), rows.end(), [](const sim::SweepRow& r) { return r.has_steady(); });
  if (steady)
    for (const char* c : {"steady_throughput_microbatches_per_s", "steady_tokens_per_s",
                          "steady_bubble_fraction", "steady_updates"})
      cols.push_back(c);
  if (!tta.empty())
    for (const char* c :
         {"seconds_per_update", "updates_to_target", "time_to_target_s", "speedup_vs_best_flush"})
      cols.push_back(c);
  std::string out;
  for (size_t c = 0; c < cols.size(); ++c) {
    if (c) out += ',';
    out += cols[c];  // appended, not "," + cols[c]: GCC 12 warns falsely (-Wrestrict) on that
  }
  out += "\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const nlohmann::ordered_json j = RowJson(rows[i], tta.empty() ? nullptr : &tta[i]);
    for (size_t c = 0; c < cols.size(); ++c) {
      if (c) out += ',';
      out += j.contains(cols[c]) ? CsvCell(j.at(cols[c])) : std::string();  // a failed row has no steady
    }
    out += "\n";
  }
  return out;
}

}  // namespace paci::cli
