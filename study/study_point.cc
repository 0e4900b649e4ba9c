#include "study/study_point.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "study/run_record.h"

namespace paci::study {

std::optional<StudyPoint> PointOfRun(const store::RunRecord& run) {
  const store::RunConfig& c = run.info.config;
  if (c.schedule.empty() || !c.stages || !c.accum || !c.lr || !c.seed || !c.microbatch_size ||
      !c.tokens_per_update)
    return std::nullopt;
  if (!run.info.setup) return std::nullopt;  // the store reads every record, typed or not, into it
  return StudyPoint{c, SetupIdentity(*run.info.setup)};
}

bool SamePoint(const StudyPoint& a, const StudyPoint& b, bool ignore_seed) {
  const store::RunConfig &x = a.config, &y = b.config;
  return x.schedule == y.schedule && x.stages == y.stages && x.accum == y.accum && x.lr == y.lr &&
         x.microbatch_size == y.microbatch_size && x.tokens_per_update == y.tokens_per_update &&
         (ignore_seed || x.seed == y.seed) && a.setup == b.setup &&
         (x.device.empty() ? "cpu" : x.device) == (y.device.empty() ? "cpu" : y.device) &&
         (x.precision.empty() ? "fp32" : x.precision) == (y.precision.empty() ? "fp32" : y.precision);
}

std::string PointKey(const StudyPoint& p) {
  const store::RunConfig& c = p.config;
  // SamePoint's defaults for runs stored before the device and precision columns; lr exactly.
  return fmt::format("{}|P={}|K={}|lr={}|b={}|t={}|seed={}|{}|{}|{}", c.schedule, c.stages.value_or(-1),
                     c.accum.value_or(-1), c.lr.value_or(-1), c.microbatch_size.value_or(-1),
                     c.tokens_per_update.value_or(-1), c.seed.value_or(-1),
                     c.device.empty() ? "cpu" : c.device, c.precision.empty() ? "fp32" : c.precision,
                     p.setup);
}

std::string VariantName(const StudyPoint& p) {
  const nlohmann::json setup = nlohmann::json::parse(p.setup, nullptr, /*allow_exceptions=*/false);
  if (setup.is_object() && setup.contains("drift_lr_scale"))
    return fmt::format("{}+drift-lr-scale={}", p.config.schedule, setup["drift_lr_scale"].dump());
  if (setup.is_object() && setup.contains("staleness") && setup["staleness"].is_string())
    return fmt::format("{}+{}", p.config.schedule, setup["staleness"].get<std::string>());
  return p.config.schedule;
}

std::string ConfigurationLabel(const StudyPoint& p) {
  const store::RunConfig& c = p.config;
  return fmt::format("{} P={} K={} lr={:g} b={} tokens/update={}", VariantName(p), c.stages.value_or(0),
                     c.accum.value_or(0), c.lr.value_or(0), c.microbatch_size.value_or(0),
                     c.tokens_per_update.value_or(0));
}

std::string SharedSetup(const std::string& setup) {
  nlohmann::json j = nlohmann::json::parse(setup, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return setup;
  j.erase("pipemare_lr_warmup");
  j.erase("drift_lr_scale");
  j.erase("staleness");
  return j.dump();
}

}  // namespace paci::study
