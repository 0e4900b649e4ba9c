#include "sim/cost_model_file.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <cmath>
#include <fstream>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <sstream>

#include "sim/stage_cost_model.h"

namespace paci::sim {
namespace {

using nlohmann::json;

Status Bad(const std::string& where, const std::string& why) {
  return Status::InvalidArgument("cost file: " + where + ": " + why);
}

// Rejects keys of `obj` not in `known` (a typo must not silently fall back to a default).
Status CheckKeys(const json& obj, const std::string& where, std::initializer_list<const char*> known) {
  if (!obj.is_object()) return Bad(where, "must be an object");
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool ok = false;
    for (const char* k : known) ok = ok || it.key() == k;
    if (!ok) return Bad(where, "unknown key \"" + it.key() + "\"");
  }
  return Status::Ok();
}

// obj[key] as a non-negative number, or `fallback` when absent.
Result<double> Number(const json& obj, const std::string& where, const char* key, double fallback) {
  if (!obj.contains(key)) return fallback;
  const json& v = obj.at(key);
  if (!v.is_number()) return Bad(where + "." + key, "must be a number");
  const double d = v.get<double>();
  if (!(d >= 0) || !std::isfinite(d)) return Bad(where + "." + key, "must be >= 0");
  return d;
}

#define PACI_ASSIGN_NUMBER(var, obj, where, key, fallback)            \
  double var = 0;                                                     \
  {                                                                   \
    Result<double> r_ = Number(obj, where, key, fallback);            \
    if (!r_.ok()) return r_.status();                                 \
    var = *r_;                                                        \
  }

Status ParseStage(const json& j, const std::string& where, ir::StageCost* out) {
  PACI_RETURN_IF_ERROR(CheckKeys(j, where, {"fwd_ms", "bwd_ms", "wgrad_ms", "opt_ms", "activation_mb",
                                            "wgrad_mb", "weights_mb", "grad_mb", "optimizer_mb",
                                            "message_mb"}));
  PACI_ASSIGN_NUMBER(fwd, j, where, "fwd_ms", 0);
  PACI_ASSIGN_NUMBER(bwd, j, where, "bwd_ms", 0);
  PACI_ASSIGN_NUMBER(wgrad, j, where, "wgrad_ms", 0);
  PACI_ASSIGN_NUMBER(opt, j, where, "opt_ms", 0);
  PACI_ASSIGN_NUMBER(act, j, where, "activation_mb", 0);
  PACI_ASSIGN_NUMBER(wg, j, where, "wgrad_mb", 0);
  PACI_ASSIGN_NUMBER(weights, j, where, "weights_mb", 0);
  PACI_ASSIGN_NUMBER(grad, j, where, "grad_mb", weights);
  PACI_ASSIGN_NUMBER(optimizer, j, where, "optimizer_mb", 2 * weights);
  PACI_ASSIGN_NUMBER(message, j, where, "message_mb", 0);
  out->set_forward_ns(MsToNs(fwd));
  out->set_backward_input_ns(MsToNs(bwd));
  out->set_backward_weight_ns(MsToNs(wgrad));
  out->set_optimizer_ns(MsToNs(opt));
  out->set_activation_bytes(MbToBytes(act));
  out->set_weight_grad_bytes(MbToBytes(wg));
  out->set_weight_bytes(MbToBytes(weights));
  out->set_gradient_bytes(MbToBytes(grad));
  out->set_optimizer_state_bytes(MbToBytes(optimizer));
  out->set_message_bytes(MbToBytes(message));
  return Status::Ok();
}

Status ParseLink(const json& j, const std::string& where, ir::LinkCost* out) {
  PACI_RETURN_IF_ERROR(CheckKeys(j, where, {"latency_us", "bandwidth_gbps"}));
  PACI_ASSIGN_NUMBER(lat, j, where, "latency_us", 0);
  PACI_ASSIGN_NUMBER(bw, j, where, "bandwidth_gbps", 0);
  out->set_latency_ns(static_cast<int64_t>(std::llround(lat * 1e3)));
  out->set_bandwidth_bytes_per_s(bw * 1e9 / 8.0);
  return Status::Ok();
}

Status ParseJitter(const json& j, ir::Jitter* out) {
  PACI_RETURN_IF_ERROR(CheckKeys(j, "jitter", {"cv", "seed", "straggler_stage", "straggler_factor"}));
  PACI_ASSIGN_NUMBER(cv, j, "jitter", "cv", 0);
  PACI_ASSIGN_NUMBER(seed, j, "jitter", "seed", 1);
  PACI_ASSIGN_NUMBER(factor, j, "jitter", "straggler_factor", 0);
  int32_t stage = -1;
  if (j.contains("straggler_stage")) {
    if (!j.at("straggler_stage").is_number_integer()) return Bad("jitter.straggler_stage", "must be an integer");
    stage = j.at("straggler_stage").get<int32_t>();
  }
  out->set_cv(cv);
  out->set_seed(static_cast<uint64_t>(seed));
  out->set_straggler_stage(stage);
  out->set_straggler_factor(factor);
  return Status::Ok();
}

Result<ir::CostModel> ParseJson(const std::string& text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    return Bad("JSON", e.what());
  }
  PACI_RETURN_IF_ERROR(CheckKeys(j, "top level", {"stages", "links", "jitter", "tokens_per_microbatch"}));
  ir::CostModel cost;
  if (!j.contains("stages") || !j.at("stages").is_array() || j.at("stages").empty())
    return Bad("stages", "needs a non-empty array");
  for (size_t i = 0; i < j.at("stages").size(); ++i)
    PACI_RETURN_IF_ERROR(ParseStage(j.at("stages")[i], "stages[" + std::to_string(i) + "]", cost.add_stages()));
  if (j.contains("links")) {
    if (!j.at("links").is_array()) return Bad("links", "must be an array");
    for (size_t i = 0; i < j.at("links").size(); ++i)
      PACI_RETURN_IF_ERROR(ParseLink(j.at("links")[i], "links[" + std::to_string(i) + "]", cost.add_links()));
  }
  if (j.contains("jitter")) PACI_RETURN_IF_ERROR(ParseJitter(j.at("jitter"), cost.mutable_jitter()));
  if (j.contains("tokens_per_microbatch")) {
    if (!j.at("tokens_per_microbatch").is_number_unsigned())
      return Bad("tokens_per_microbatch", "must be a non-negative integer");
    cost.set_tokens_per_microbatch(j.at("tokens_per_microbatch").get<uint64_t>());
  }
  return cost;
}

// Collects the first text-format error with its line.
class FirstError : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (text.empty())
      text = "line " + std::to_string(line + 1) + " column " + std::to_string(column + 1) + ": " + message;
  }
  std::string text;
};

Result<ir::CostModel> ParseText(const std::string& text) {
  ir::CostModel cost;
  google::protobuf::TextFormat::Parser parser;
  FirstError errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, &cost))
    return Bad("proto text", errors.text.empty() ? "not a CostModel" : errors.text);
  if (cost.stages_size() == 0) return Bad("stages", "no stage costs given");
  return cost;
}

}  // namespace

Result<ir::CostModel> ParseCostModel(const std::string& text) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{') return ParseJson(text);
  return ParseText(text);
}

Result<ir::CostModel> LoadCostModelFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cost file " + path + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  Result<ir::CostModel> cost = ParseCostModel(text.str());
  if (!cost.ok()) return Status::InvalidArgument(path + ": " + cost.status().message());
  return cost;
}

}  // namespace paci::sim
