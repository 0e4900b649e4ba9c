// See checkpoint.h.
#include "exec/model/checkpoint.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "exec/model/safetensors.h"
#include "proto/fnv1a.h"

namespace paci::exec {

namespace {

std::string config_json(const GPTConfig& c) {
  nlohmann::json j = {{"vocab_size", c.vocab_size}, {"block_size", c.block_size}, {"n_layer", c.n_layer},
                      {"n_head", c.n_head},         {"n_embd", c.n_embd},         {"tie", c.tie}};
  return j.dump();
}

Status check_config(const std::string& path, const std::map<std::string, std::string>& meta,
                    const GPTConfig& c) {
  auto it = meta.find("paci.config");
  if (it == meta.end()) return Status::Ok();  // a foreign file: the tensor shapes are checked instead
  nlohmann::json j = nlohmann::json::parse(it->second, nullptr, false);
  if (!j.is_object()) return Status::Corruption(path + ": bad paci.config metadata");
  const std::pair<const char*, const char*> fields[] = {{"vocab_size", "--vocab"},
                                                        {"block_size", "--seq"},
                                                        {"n_layer", "--layers"},
                                                        {"n_head", "--heads"},
                                                        {"n_embd", "--dim"}};
  const int mine[] = {c.vocab_size, c.block_size, c.n_layer, c.n_head, c.n_embd};
  for (int i = 0; i < 5; i++) {
    if (!j.contains(fields[i].first) || !j[fields[i].first].is_number_integer()) continue;
    const int theirs = j[fields[i].first].get<int>();
    if (theirs != mine[i])
      return Status::InvalidArgument(path + ": checkpoint has " + fields[i].second + " " +
                                     std::to_string(theirs) + ", this run " + std::to_string(mine[i]));
  }
  if (j.contains("tie") && j["tie"].is_boolean() && j["tie"].get<bool>() != c.tie)
    return Status::InvalidArgument(path + ": checkpoint and this run disagree on --tie");
  return Status::Ok();
}

// A metadata value that must be a whole decimal uint64 ("-1", "12abc" and
// "99999999999999999999" clear *ok instead of wrapping).
uint64_t meta_u64(const std::map<std::string, std::string>& m, const std::string& key, bool* ok) {
  auto it = m.find(key);
  uint64_t v = 0;
  if (it == m.end()) {
    *ok = false;
    return 0;
  }
  const std::string& s = it->second;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
    *ok = false;
    return 0;
  }
  return v;
}

// Every value of tensor `name` (n floats at p) is finite: a NaN or infinity would train on
// silently, and the pipelined path did (issue 25), so both paths refuse it here, on load.
Status check_finite(const std::string& path, const std::string& name, const float* p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!std::isfinite(p[i]))
      return Status::InvalidArgument(path + ": tensor " + name + " holds a non-finite value (" +
                                     std::to_string(p[i]) + ") at element " + std::to_string(i));
  return Status::Ok();
}

}  // namespace

std::string optim_path(const std::string& weights_path) {
  const std::string ext = ".safetensors";
  if (weights_path.ends_with(ext))
    return weights_path.substr(0, weights_path.size() - ext.size()) + ".optim" + ext;
  return weights_path + ".optim" + ext;
}

Status weights_save(const std::string& path, const GPTConfig& cfg, const float* params,
                    const std::map<std::string, std::string>& metadata) {
  const ParamLayout L = gpt_param_layout(cfg);
  std::vector<SafeTensorRef> refs;
  for (const ParamSpec& s : L.tensors) refs.push_back({s.name, s.shape, params + s.offset});
  if (cfg.tie) {
    const ParamSpec* wte = param_find(L, "transformer.wte.weight");
    refs.push_back({"lm_head.weight", wte->shape, params + wte->offset});
  }
  std::map<std::string, std::string> meta = metadata;
  meta["format"] = "pt";
  meta["paci.config"] = config_json(cfg);
  return safetensors_write(path, refs, meta);
}

Status weights_load(const std::string& path, const GPTConfig& cfg, float* params) {
  Result<SafeTensorsFile> f = safetensors_read(path);
  if (!f.ok()) return f.status();
  PACI_RETURN_IF_ERROR(check_config(path, f->metadata, cfg));
  const ParamLayout L = gpt_param_layout(cfg);
  for (const ParamSpec& s : L.tensors) {
    PACI_RETURN_IF_ERROR(safetensors_get_f32(*f, s.name, s.shape, params + s.offset));
    PACI_RETURN_IF_ERROR(check_finite(path, s.name, params + s.offset, s.numel));
  }
  return Status::Ok();
}

Status adamw_save(const std::string& path, const ParamLayout& layout, const AdamW& opt,
                  std::map<std::string, std::string> metadata) {
  std::vector<SafeTensorRef> refs;
  const size_t lo = opt.param_offset, hi = opt.param_offset + opt.m.size();
  for (const ParamSpec& s : layout.tensors) {
    if (s.offset < lo || s.offset + s.numel > hi) continue;  // spans are whole layers
    refs.push_back({"exp_avg." + s.name, s.shape, opt.m.data() + (s.offset - lo)});
    refs.push_back({"exp_avg_sq." + s.name, s.shape, opt.v.data() + (s.offset - lo)});
  }
  metadata["paci.adamw_step"] = std::to_string(opt.step);
  return safetensors_write(path, refs, metadata);
}

Result<std::map<std::string, std::string>> adamw_load(const std::string& path, const ParamLayout& layout,
                                                      AdamW* opt) {
  Result<SafeTensorsFile> f = safetensors_read(path);
  if (!f.ok()) return f.status();
  const size_t lo = opt->param_offset, hi = opt->param_offset + opt->m.size();
  for (const ParamSpec& s : layout.tensors) {
    if (s.offset < lo || s.offset + s.numel > hi) continue;
    PACI_RETURN_IF_ERROR(
        safetensors_get_f32(*f, "exp_avg." + s.name, s.shape, opt->m.data() + (s.offset - lo)));
    PACI_RETURN_IF_ERROR(
        safetensors_get_f32(*f, "exp_avg_sq." + s.name, s.shape, opt->v.data() + (s.offset - lo)));
    PACI_RETURN_IF_ERROR(check_finite(path, "exp_avg." + s.name, opt->m.data() + (s.offset - lo), s.numel));
    PACI_RETURN_IF_ERROR(
        check_finite(path, "exp_avg_sq." + s.name, opt->v.data() + (s.offset - lo), s.numel));
  }
  bool ok = true;
  const uint64_t step = meta_u64(f->metadata, "paci.adamw_step", &ok);
  opt->step = static_cast<int64_t>(step);
  if (!ok || step > static_cast<uint64_t>(INT64_MAX))
    return Status::Corruption(path + ": metadata paci.adamw_step missing or not a number");
  return f->metadata;
}

std::string weights_digest(const float* params, size_t n) {
  const uint64_t h = Fnv1a64(params, n * sizeof(float));
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

Status check_same_checkpoint(const std::string& optim_path,
                             const std::map<std::string, std::string>& optim_meta, const float* params,
                             size_t n) {
  auto it = optim_meta.find("paci.weights_digest");
  if (it == optim_meta.end()) return Status::Ok();
  const std::string have = weights_digest(params, n);
  if (it->second == have) return Status::Ok();
  return Status::InvalidArgument(
      optim_path + ": optimizer state of another checkpoint (saved beside weights " + it->second +
      ", the weights file holds " + have + "); resume from the two files one --save wrote together");
}

Status checkpoint_save(const std::string& path, const Trainer& tr) {
  const std::string step = std::to_string(tr.opt.step);
  PACI_RETURN_IF_ERROR(weights_save(path, tr.cfg.model, tr.params.data(), {{"paci.step", step}}));
  return adamw_save(optim_path(path), tr.model.layout(), tr.opt,
                    {{"paci.sampler_kind", tr.sampler.kind == SamplerKind::kRandom ? "random" : "sequential"},
                     {"paci.sampler_rng", std::to_string(tr.sampler.rng.state)},
                     {"paci.sampler_pos", std::to_string(tr.sampler.pos)},
                     {"paci.seed", std::to_string(tr.cfg.seed)},
                     {"paci.weights_digest", weights_digest(tr.params.data(), tr.params.size())}});
}

Status checkpoint_load(const std::string& path, Trainer* tr) {
  PACI_RETURN_IF_ERROR(weights_load(path, tr->cfg.model, tr->params.data()));
  const std::string opath = optim_path(path);
  Result<std::map<std::string, std::string>> meta = adamw_load(opath, tr->model.layout(), &tr->opt);
  if (!meta.ok()) return meta.status();
  PACI_RETURN_IF_ERROR(check_same_checkpoint(opath, *meta, tr->params.data(), tr->params.size()));
  bool ok = true;
  tr->sampler.rng.state = meta_u64(*meta, "paci.sampler_rng", &ok);
  tr->sampler.pos = meta_u64(*meta, "paci.sampler_pos", &ok);
  if (!ok) return Status::Corruption(opath + ": sampler state missing from metadata or not a number");
  const std::string want = tr->sampler.kind == SamplerKind::kRandom ? "random" : "sequential";
  if (meta->count("paci.sampler_kind") && meta->at("paci.sampler_kind") != want)
    return Status::InvalidArgument(opath + ": checkpoint used --sampler " + meta->at("paci.sampler_kind"));
  return Status::Ok();
}

}  // namespace paci::exec
