// Names, text forms and costs of the staleness compensations. See staleness.h.
#include "sched/staleness.h"

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <cstdlib>

#include "proto/ir_names.h"

namespace paci {
namespace {

constexpr std::array<std::pair<StalenessKind, std::string_view>, 6> kNames = {{
    {StalenessKind::kNone, "none"},
    {StalenessKind::kDriftLrScale, "drift-lr-scale"},
    {StalenessKind::kStageLr, "stage-lr"},
    {StalenessKind::kRewind, "rewind"},
    {StalenessKind::kPredict, "predict"},
    {StalenessKind::kDelayComp, "delay-comp"},
}};

}  // namespace

std::string_view StalenessName(StalenessKind kind) {
  for (const auto& [k, name] : kNames)
    if (k == kind) return name;
  return "none";
}

std::string StalenessNames() {
  std::string out;
  for (const auto& [k, name] : kNames) {
    if (!out.empty()) out += '|';
    out += name;
  }
  return out;
}

Result<Staleness> ParseStaleness(std::string_view text, std::string_view flag) {
  const size_t eq = text.find('=');
  const std::string_view name = text.substr(0, eq);
  Staleness s;
  bool known = false;
  for (const auto& [k, n] : kNames)
    if (n == name) s.kind = k, known = true;
  if (!known)
    return Status::InvalidArgument(fmt::format("{}: unknown compensation '{}' (one of {}, optionally NAME=X)",
                                               flag, name, StalenessNames()));
  if (!s.on()) {
    if (eq != std::string_view::npos)
      return Status::InvalidArgument(fmt::format("{}: 'none' takes no value", flag));
    return s;
  }
  s.param = 1;
  if (eq == std::string_view::npos) return s;
  const std::string value(text.substr(eq + 1));
  char* end = nullptr;
  const double x = value.empty() ? NAN : std::strtod(value.c_str(), &end);
  if (value.empty() || end != value.c_str() + value.size() || !std::isfinite(x) || x < 0 ||
      x > kMaxStalenessParam)
    return Status::InvalidArgument(fmt::format("{}: '{}' needs a number in [0, {}] after '=', got '{}'", flag,
                                               name, kMaxStalenessParam, value));
  s.param = x;
  return s;
}

std::string StalenessText(const Staleness& s) {
  if (!s.on()) return "none";
  return fmt::format("{}={}", StalenessName(s.kind), s.param);
}

bool NeedsDrift(StalenessKind kind) {
  return kind == StalenessKind::kDriftLrScale || kind == StalenessKind::kStageLr ||
         kind == StalenessKind::kRewind || kind == StalenessKind::kPredict;
}

bool NeedsStaleGradient(StalenessKind kind) { return kind == StalenessKind::kDelayComp; }

bool ConflictsWithPipeMare(StalenessKind kind) {
  return kind == StalenessKind::kRewind || kind == StalenessKind::kPredict;
}

bool RunsOnCuda(StalenessKind kind) {
  return kind == StalenessKind::kNone || kind == StalenessKind::kDriftLrScale ||
         kind == StalenessKind::kStageLr;
}

StalenessCost CostOf(StalenessKind kind) {
  StalenessCost c;
  switch (kind) {
    case StalenessKind::kRewind:  // read w, m, v; write the layer's estimate
      c.backward_floats_per_param = 4, c.layer_estimate = true;
      break;
    case StalenessKind::kPredict: c.forward_floats_per_param = 4, c.layer_estimate = true; break;
    case StalenessKind::kDelayComp:  // read g, w, m, v; write g
      c.optimizer_floats_per_param = 5;
      break;
    default: break;
  }
  return c;
}

Result<ScheduleVariant> ParseScheduleVariant(std::string_view text) {
  ScheduleVariant v;
  const size_t plus = text.find('+');
  v.schedule = std::string(text.substr(0, plus));
  if (!ParseScheduleName(v.schedule))
    return Status::InvalidArgument(fmt::format("unknown schedule '{}'", v.schedule));
  if (plus == std::string_view::npos) return v;
  Result<Staleness> s = ParseStaleness(text.substr(plus + 1), fmt::format("schedule variant '{}'", text));
  if (!s.ok()) return s.status();
  if (!s->on())
    return Status::InvalidArgument(fmt::format("schedule variant '{}': '+none' is the bare schedule", text));
  v.staleness = *s;
  return v;
}

std::string ScheduleVariantText(const ScheduleVariant& v) {
  return v.staleness.on() ? v.schedule + "+" + StalenessText(v.staleness) : v.schedule;
}

}  // namespace paci
