#include "store/run_record_json.h"

#include <google/protobuf/util/json_util.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "proto/ir_names.h"
#include "proto/run_setup.h"

namespace paci::store {
namespace {

using json = nlohmann::json;

// Typed accessors for the untyped record: a key of the wrong type counts as absent, as the
// readers of the untyped record treated it.
std::optional<int64_t> Integer(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}
std::optional<double> Number(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}
std::optional<std::string> Text(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

void ReadUntypedModel(const json& m, ir::ModelShape* shape) {
  if (!m.is_object()) return;
  shape->set_layers(static_cast<uint32_t>(Integer(m, "layers").value_or(0)));
  shape->set_dim(static_cast<uint32_t>(Integer(m, "dim").value_or(0)));
  shape->set_heads(static_cast<uint32_t>(Integer(m, "heads").value_or(0)));
  shape->set_seq(static_cast<uint32_t>(Integer(m, "seq").value_or(0)));
  shape->set_vocab(static_cast<uint32_t>(Integer(m, "vocab").value_or(0)));
  if (auto tie = m.find("tie"); tie != m.end() && tie->is_boolean()) shape->set_tie(tie->get<bool>());
}

// "partition": [[first, last], ...]; a malformed slice is kept as [0, 0) so readers see one
// slice per stage and can refuse it.
void ReadUntypedPartition(const json& p, ir::RunSetup* s) {
  if (!p.is_array()) return;
  for (const json& r : p) {
    ir::LayerRange* range = s->add_partition();
    if (!r.is_array() || r.size() != 2 || !r[0].is_number_integer() || !r[1].is_number_integer()) continue;
    range->set_first(r[0].get<uint32_t>());
    range->set_last(r[1].get<uint32_t>());
  }
}

void ReadUntypedData(const json& j, ir::RunSetup* s) {
  if (auto files = j.find("data_files"); files != j.end() && files->is_array())
    for (const json& f : *files)
      if (f.is_string()) s->add_data_files(f.get<std::string>());
  auto data = j.find("data");
  if (data == j.end() || !data->is_object()) return;
  s->mutable_data()->set_tokens(static_cast<uint64_t>(Integer(*data, "tokens").value_or(0)));
  if (std::optional<std::string> hex = Text(*data, "fnv1a64"))
    s->mutable_data()->set_fnv1a64(std::strtoull(hex->c_str(), nullptr, 16));
}

// The knobs the untyped record named only where they were given or not the defaults.
void ReadUntypedKnobs(const json& j, ir::RunSetup* s) {
  if (auto v = Integer(j, "updates")) s->set_updates(*v);
  if (auto v = Integer(j, "warmup")) s->set_warmup(*v);
  if (auto v = Integer(j, "decay_updates")) s->set_decay_updates(*v);
  if (auto v = Number(j, "min_lr_frac")) s->set_min_lr_frac(*v);
  if (auto v = Integer(j, "pipemare_lr_warmup")) s->set_pipemare_lr_warmup(*v);
  if (auto v = Number(j, "drift_lr_scale")) s->set_drift_lr_scale(*v);
  if (auto v = Number(j, "weight_decay")) s->set_weight_decay(*v);
  if (auto v = Text(j, "sampler")) s->set_sampler(*v);
  if (auto v = Integer(j, "eval_batches")) s->set_eval_batches(*v);
}

// The untyped record `paci train --schedule` wrote before the typed one (record_version 0).
std::optional<ir::RunSetup> ReadUntyped(const json& j) {
  if (!j.contains("model") && !j.contains("microbatch_size")) return std::nullopt;
  ir::RunSetup s;
  if (auto m = j.find("model"); m != j.end()) ReadUntypedModel(*m, s.mutable_model());
  s.set_microbatch_size(static_cast<uint32_t>(Integer(j, "microbatch_size").value_or(0)));
  s.set_accum(static_cast<uint32_t>(Integer(j, "accum").value_or(0)));
  if (s.microbatch_size() && s.accum() && s.model().seq())
    s.set_tokens_per_update(
        static_cast<uint64_t>(TokensPerUpdate(s.microbatch_size(), s.model().seq(), s.accum()).value_or(0)));
  s.set_lr(Number(j, "lr").value_or(0));
  if (auto seed = Integer(j, "seed")) s.set_seed(static_cast<uint64_t>(*seed));
  ReadUntypedKnobs(j, &s);
  s.set_transport(Text(j, "transport").value_or(""));
  s.set_device(Text(j, "device").value_or(""));
  // It named the precision on CUDA only; everything else trained on the CPU in fp32.
  if (std::optional<std::string> p = Text(j, "precision"))
    s.set_precision(ParsePrecisionName(*p).value_or(ir::PRECISION_UNSPECIFIED));
  else if (s.device() != "cuda")
    s.set_precision(ir::PRECISION_FP32);
  if (auto p = j.find("partition"); p != j.end()) ReadUntypedPartition(*p, &s);
  s.set_resumed_from(Text(j, "resumed_from").value_or(""));
  ReadUntypedData(j, &s);
  return s;
}

}  // namespace

std::string RunSetupToDescription(const ir::RunSetup& setup) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string out;
  // Only a message with an unset Any or a bad enum fails to print; RunSetup has neither.
  (void)google::protobuf::util::MessageToJsonString(setup, &out, options);
  return out;
}

std::optional<ir::RunSetup> RunSetupFromDescription(const std::string& description) {
  const json j = json::parse(description, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  if (!j.contains("record_version")) return ReadUntyped(j);
  ir::RunSetup setup;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // a record from a newer paci keeps what this one knows
  if (!google::protobuf::util::JsonStringToMessage(description, &setup, options).ok()) return std::nullopt;
  return setup;
}

}  // namespace paci::store
