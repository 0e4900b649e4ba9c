#include "exec/runtime/pipeline_checkpoint.h"

#include "exec/model/checkpoint.h"

namespace paci::exec {
namespace {

const char* SamplerName(SamplerKind k) { return k == SamplerKind::kRandom ? "random" : "sequential"; }

Result<uint64_t> MetaU64(const std::map<std::string, std::string>& meta, const std::string& path,
                         const std::string& key) {
  auto it = meta.find(key);
  if (it == meta.end()) return Status::Corruption(path + ": metadata " + key + " missing");
  try {
    return static_cast<uint64_t>(std::stoull(it->second));
  } catch (const std::exception&) {
    return Status::Corruption(path + ": metadata " + key + " is not a number: '" + it->second + "'");
  }
}

}  // namespace

Status pipeline_checkpoint_save(const std::string& path, const GPTConfig& model, const PipelineState& state) {
  const ParamLayout layout = gpt_param_layout(model);
  PACI_RETURN_IF_ERROR(
      weights_save(path, model, state.params.data(), {{"paci.step", std::to_string(state.updates)}}));
  AdamW opt;
  opt.m = state.m;
  opt.v = state.v;
  opt.step = state.updates;
  return adamw_save(optim_path(path), layout, opt,
                    {{"paci.sampler_kind", SamplerName(state.sampler.kind)},
                     {"paci.sampler_rng", std::to_string(state.sampler.rng.state)},
                     {"paci.sampler_pos", std::to_string(state.sampler.pos)},
                     {"paci.tokens", std::to_string(state.tokens)},
                     {"paci.schedule", state.schedule},
                     {"paci.weights_digest", weights_digest(state.params.data(), state.params.size())}});
}

Result<PipelineState> pipeline_checkpoint_load(const std::string& path, const GPTConfig& model,
                                               SamplerKind sampler) {
  const ParamLayout layout = gpt_param_layout(model);
  PipelineState state;
  state.params.assign(layout.total, 0.0f);
  PACI_RETURN_IF_ERROR(weights_load(path, model, state.params.data()));
  AdamW opt;
  opt.m.assign(layout.total, 0.0f);
  opt.v.assign(layout.total, 0.0f);
  const std::string opath = optim_path(path);
  Result<std::map<std::string, std::string>> meta = adamw_load(opath, layout, &opt);
  if (!meta.ok()) return meta.status();
  PACI_RETURN_IF_ERROR(check_same_checkpoint(opath, *meta, state.params.data(), state.params.size()));
  state.m = std::move(opt.m);
  state.v = std::move(opt.v);
  state.updates = opt.step;
  Result<uint64_t> rng = MetaU64(*meta, opath, "paci.sampler_rng");
  Result<uint64_t> pos = MetaU64(*meta, opath, "paci.sampler_pos");
  if (!rng.ok()) return rng.status();
  if (!pos.ok()) return pos.status();
  state.sampler.kind = sampler;
  state.sampler.rng.state = *rng;
  state.sampler.pos = *pos;
  if (meta->count("paci.sampler_kind") && meta->at("paci.sampler_kind") != SamplerName(sampler))
    return Status::InvalidArgument(opath + ": checkpoint used --sampler " + meta->at("paci.sampler_kind"));
  // Unpipelined checkpoints carry no token count: every update saw the same batch size.
  Result<uint64_t> tokens = MetaU64(*meta, opath, "paci.tokens");
  state.tokens = tokens.ok() ? *tokens : 0;
  if (meta->count("paci.schedule")) state.schedule = meta->at("paci.schedule");
  return state;
}

}  // namespace paci::exec
