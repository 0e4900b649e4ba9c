#include "sim/profile_file.h"

#include <google/protobuf/util/json_util.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "proto/ir_names.h"
#include "sched/bounded_file.h"
#include "sched/limits.h"
#include "sim/model_cost.h"
#include "sim/stage_cost_model.h"

namespace paci::sim {
namespace {

Status Bad(const std::string& source, const std::string& field, const std::string& why) {
  return Status::InvalidArgument(source + ": " + field + ": " + why);
}

Status CheckTime(const std::string& source, const std::string& field, double v) {
  if (!std::isfinite(v) || v < 0)
    return Bad(source, field, "must be a finite number >= 0, got " + std::to_string(v));
  // Stage sums of layer times become int64 ns (BuildCostModel): bounded so they cannot overflow.
  if (v > static_cast<double>(kMaxOpNs))
    return Bad(source, field, "must be at most " + std::to_string(kMaxOpNs) + " (kMaxOpNs, sched/limits.h)");
  return Status::Ok();
}

Status CheckBytes(const std::string& source, const std::string& field, uint64_t v) {
  if (v > kMaxBytes)
    return Bad(source, field,
               "must be at most " + std::to_string(kMaxBytes) + " bytes (kMaxBytes, sched/limits.h)");
  return Status::Ok();
}

std::string ExpectedKind(const ir::ModelShape& m, int i) {
  if (i == 0) return "embedding";
  return i <= static_cast<int>(m.layers()) ? "block" : "head";
}

}  // namespace

Status ValidateProfile(const ir::Profile& p, const std::string& source) {
  if (p.version() != kProfileVersion)
    return Bad(source, "version",
               "is " + std::to_string(p.version()) + ", this build reads version " +
                   std::to_string(kProfileVersion));
  if (p.microbatch_size() == 0) return Bad(source, "microbatch_size", "must be > 0");
  Status shape = ValidateModelShape(p.model());
  if (shape.ok()) shape = CheckModelSize(p.model(), p.microbatch_size());
  if (!shape.ok()) {
    std::string m = shape.message();  // "--layers: ..." -> "model.layers: ..."
    if (m.rfind("--", 0) == 0) m = "model." + m.substr(2);
    return Status::InvalidArgument(source + ": " + m);
  }
  if (!ParsePrecisionName(p.precision()))
    return Bad(source, "precision", "must be fp32 or bf16, got '" + p.precision() + "'");
  const int n = NumLayers(p.model());
  if (p.layers_size() != n)
    return Bad(source, "layers",
               "has " + std::to_string(p.layers_size()) + " entries; the model has " + std::to_string(n) +
                   " layers (embedding, blocks, head)");
  for (int i = 0; i < n; ++i) {
    const ir::LayerProfile& l = p.layers(i);
    const std::string f = "layers[" + std::to_string(i) + "]";
    if (l.index() != static_cast<uint32_t>(i))
      return Bad(source, f + ".index", "must be " + std::to_string(i));
    if (l.kind() != ExpectedKind(p.model(), i))
      return Bad(source, f + ".kind", "must be " + ExpectedKind(p.model(), i) + ", got '" + l.kind() + "'");
    const std::pair<const char*, double> values[] = {
        {"forward_ns", l.forward_ns()},
        {"forward_rse", l.forward_rse()},
        {"backward_input_ns", l.backward_input_ns()},
        {"backward_input_rse", l.backward_input_rse()},
        {"backward_weight_ns", l.backward_weight_ns()},
        {"backward_weight_rse", l.backward_weight_rse()},
        {"optimizer_ns", l.optimizer_ns()},
        {"optimizer_rse", l.optimizer_rse()},
        {"forward_cpu_ns", l.forward_cpu_ns()},
        {"backward_input_cpu_ns", l.backward_input_cpu_ns()},
        {"backward_weight_cpu_ns", l.backward_weight_cpu_ns()},
        {"optimizer_cpu_ns", l.optimizer_cpu_ns()},
        {"forward_cold_ns", l.forward_cold_ns()},
        {"backward_input_cold_ns", l.backward_input_cold_ns()},
        {"backward_weight_cold_ns", l.backward_weight_cold_ns()}};
    for (const auto& [name, v] : values) PACI_RETURN_IF_ERROR(CheckTime(source, f + "." + name, v));
    if (l.forward_ns() <= 0) return Bad(source, f + ".forward_ns", "must be > 0");
    if (l.repetitions() == 0)
      return Bad(source, f + ".repetitions", "must be >= 1: its times are means of no sample");
    if (l.message_bytes() == 0) return Bad(source, f + ".message_bytes", "must be > 0");
    const std::pair<const char*, uint64_t> sizes[] = {{"activation_bytes", l.activation_bytes()},
                                                      {"weight_bytes", l.weight_bytes()},
                                                      {"gradient_bytes", l.gradient_bytes()},
                                                      {"optimizer_state_bytes", l.optimizer_state_bytes()},
                                                      {"message_bytes", l.message_bytes()}};
    for (const auto& [name, v] : sizes) PACI_RETURN_IF_ERROR(CheckBytes(source, f + "." + name, v));
  }
  for (int i = 0; i < p.colocation_size(); ++i) {
    const ir::ColocationFactor& c = p.colocation(i);
    const std::string f = "colocation[" + std::to_string(i) + "]";
    for (int j = 0; j < i; ++j)  // two slowdowns for one count: which one applies is a guess
      if (p.colocation(j).stages() == c.stages())
        return Bad(source, f + ".stages",
                   "repeats colocation[" + std::to_string(j) + "]'s " + std::to_string(c.stages()));
    // ShareOneDevice fills one slowdown per stage count up to `stages`: bounded like P.
    if (c.stages() < 2 || c.stages() > kMaxStages)
      return Bad(source, f + ".stages",
                 "must be in 2.." + std::to_string(kMaxStages) + " (kMaxStages, sched/limits.h)");
    if (!std::isfinite(c.slowdown()) || c.slowdown() <= 0 || c.slowdown() > kMaxColocationSlowdown)
      return Bad(source, f + ".slowdown",
                 "must be a finite number in (0, 4096] (kMaxColocationSlowdown, "
                 "sim/stage_cost_model.h), got " +
                     std::to_string(c.slowdown()));
    PACI_RETURN_IF_ERROR(CheckTime(source, f + ".rse", c.rse()));
    // 0: not measured; otherwise a slowdown, bounded as one.
    const std::pair<const char*, double> stretches[] = {{".op_stretch", c.op_stretch()},
                                                        {".op_cpu_stretch", c.op_cpu_stretch()}};
    for (const auto& [field, v] : stretches)
      if (!std::isfinite(v) || v < 0 || v > kMaxColocationSlowdown)
        return Bad(source, f + field,
                   "must be 0 (not measured) or a finite number in (0, 4096] (kMaxColocationSlowdown, "
                   "sim/stage_cost_model.h), got " +
                       std::to_string(v));
  }
  for (int i = 0; i < p.halves_size(); ++i)
    PACI_RETURN_IF_ERROR(
        CheckTime(source, "halves[" + std::to_string(i) + "].difference", p.halves(i).difference()));
  PACI_RETURN_IF_ERROR(CheckTime(source, "cpu_share", p.cpu_share()));
  PACI_RETURN_IF_ERROR(CheckBytes(source, "hot_working_set_bytes", p.hot_working_set_bytes()));
  PACI_RETURN_IF_ERROR(CheckBytes(source, "cold_working_set_bytes", p.cold_working_set_bytes()));
  // The cache model interpolates between the two working sets: the cold one lies beyond the hot.
  if (p.cold_records() > 0 && p.cold_working_set_bytes() <= p.hot_working_set_bytes())
    return Bad(source, "cold_working_set_bytes", "must exceed hot_working_set_bytes when cold_records > 0");
  return Status::Ok();
}

Result<std::string> ProfileToJson(const ir::Profile& profile) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string out;
  auto status = google::protobuf::util::MessageToJsonString(profile, &out, options);
  if (!status.ok()) return Status::Internal("profile to JSON: " + std::string(status.message()));
  return out;
}

Result<ir::Profile> ProfileFromJson(const std::string& json, const std::string& source) {
  ir::Profile p;
  auto status = google::protobuf::util::JsonStringToMessage(json, &p);
  if (!status.ok())
    return Status::InvalidArgument(source + ": not a profile: " + std::string(status.message()));
  PACI_RETURN_IF_ERROR(ValidateProfile(p, source));
  return p;
}

Status WriteProfileFile(const ir::Profile& profile, const std::string& path) {
  Result<std::string> json = ProfileToJson(profile);
  if (!json.ok()) return json.status();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << *json;
  out.close();
  if (!out) return Status::Internal(path + ": cannot write");
  return Status::Ok();
}

Result<ir::Profile> LoadProfileFile(const std::string& path) {
  Result<std::string> text =
      ReadBoundedFile(path, kMaxInputFileBytes, "kMaxInputFileBytes (sched/bounded_file.h)");
  if (!text.ok()) return Status::InvalidArgument(text.status().message());
  return ProfileFromJson(*text, path);
}

Status CheckProfileMatches(const ir::Profile& p, const ir::ModelShape& m, uint32_t microbatch,
                           const std::string& source) {
  const std::pair<const char*, std::pair<uint32_t, uint32_t>> fields[] = {
      {"model.layers", {p.model().layers(), m.layers()}},
      {"model.dim", {p.model().dim(), m.dim()}},
      {"model.heads", {p.model().heads(), m.heads()}},
      {"model.seq", {p.model().seq(), m.seq()}},
      {"model.vocab", {p.model().vocab(), m.vocab()}},
      {"microbatch_size", {p.microbatch_size(), microbatch}}};
  for (const auto& [name, v] : fields)
    if (v.first != v.second)
      return Bad(source, name,
                 "the profile is for another model: it has " + std::to_string(v.first) + ", the run needs " +
                     std::to_string(v.second));
  if (p.model().tie() != m.tie()) return Bad(source, "model.tie", "the profile is for another model");
  return Status::Ok();
}

}  // namespace paci::sim
