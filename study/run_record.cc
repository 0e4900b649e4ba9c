#include "study/run_record.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "proto/ir_names.h"
#include "proto/run_setup.h"
#include "sched/pipeline_spec.h"

namespace paci::study {
namespace {

void SetModel(const exec::GPTConfig& m, ir::ModelShape* shape) {
  shape->set_layers(static_cast<uint32_t>(m.n_layer));
  shape->set_dim(static_cast<uint32_t>(m.n_embd));
  shape->set_heads(static_cast<uint32_t>(m.n_head));
  shape->set_seq(static_cast<uint32_t>(m.block_size));
  shape->set_vocab(static_cast<uint32_t>(m.vocab_size));
  shape->set_tie(m.tie);
}

// Named only where they differ from `paci train`'s defaults, so runs recorded before they were
// named keep their identity.
void SetNonDefaultKnobs(const exec::TrainConfig& cfg, ir::RunSetup* s) {
  const exec::TrainConfig defaults;
  if (cfg.adamw.weight_decay != defaults.adamw.weight_decay) s->set_weight_decay(cfg.adamw.weight_decay);
  if (cfg.sampler != defaults.sampler)
    s->set_sampler(cfg.sampler == exec::SamplerKind::kSequential ? "sequential" : "random");
  if (cfg.eval_batches != defaults.eval_batches) s->set_eval_batches(cfg.eval_batches);
}

// V only where it is not the schedule's default (sched/pipeline_spec.h), so `--chunks 2` of
// interleaved-1f1b and no --chunks are one point, and older records keep their identity.
void SetChunks(const RunChoices& c, ir::RunSetup* s) {
  const std::optional<ir::ScheduleKind> kind = ParseScheduleName(c.schedule);
  if (!kind || c.chunks == 0 || c.chunks == DefaultChunks(*kind)) return;
  s->set_chunks(c.chunks);
}

void SetChoices(const RunChoices& c, ir::RunSetup* s) {
  s->set_transport(c.transport);
  s->set_device(c.device);
  s->set_precision(RunPrecision(c.device, c.precision));
  for (const exec::LayerRange& r : c.partition) {
    ir::LayerRange* range = s->add_partition();
    range->set_first(static_cast<uint32_t>(r.first));
    range->set_last(static_cast<uint32_t>(r.last));
  }
  s->set_resumed_from(c.resumed_from);
  if (c.schedule == "pipemare") s->set_pipemare_lr_warmup(c.pipemare_lr_warmup);
  if (c.drift_lr_scale > 0) s->set_drift_lr_scale(c.drift_lr_scale);
  if (!c.staleness.empty()) s->set_staleness(c.staleness);
  if (c.grad_clip > 0) s->set_grad_clip(c.grad_clip);
  // By content, not path: a copy elsewhere is the same corpus, an edited file another.
  for (const std::string& f : c.data_files) s->add_data_files(f);
  if (!c.data_files.empty()) {
    s->mutable_data()->set_tokens(c.data_tokens);
    s->mutable_data()->set_fnv1a64(c.data_fingerprint);
  }
}

}  // namespace

ir::Precision RunPrecision(std::string_view device, std::string_view precision_flag) {
  if (device != "cuda") return ir::PRECISION_FP32;
  return ParsePrecisionName(precision_flag).value_or(ir::PRECISION_BF16);
}

Result<ir::RunSetup> BuildRunSetup(const exec::TrainConfig& cfg, const RunChoices& choices) {
  const std::optional<int64_t> tokens = TokensPerUpdate(cfg.B, cfg.model.block_size, cfg.accum);
  if (!tokens)
    return Status::InvalidArgument("--microbatch-size x --seq x --accum: tokens per update overflow");
  ir::RunSetup s;
  s.set_record_version(1);
  SetModel(cfg.model, s.mutable_model());
  s.set_microbatch_size(static_cast<uint32_t>(cfg.B));
  s.set_accum(static_cast<uint32_t>(cfg.accum));
  s.set_tokens_per_update(static_cast<uint64_t>(*tokens));
  s.set_lr(cfg.lr);
  s.set_seed(cfg.seed);
  s.set_updates(cfg.updates);
  s.set_warmup(cfg.warmup);
  s.set_decay_updates(cfg.decay_updates);
  s.set_min_lr_frac(cfg.min_lr_frac);
  SetNonDefaultKnobs(cfg, &s);
  SetChoices(choices, &s);
  SetChunks(choices, &s);
  return s;
}

std::string SetupIdentity(const ir::RunSetup& s) {
  nlohmann::json j = nlohmann::json::object();
  if (s.has_model()) {
    const ir::ModelShape& m = s.model();
    j["model"] = {{"layers", m.layers()}, {"dim", m.dim()},     {"heads", m.heads()},
                  {"seq", m.seq()},       {"vocab", m.vocab()}, {"tie", m.tie()}};
  }
  if (s.has_updates()) j["updates"] = s.updates();
  if (s.has_warmup()) j["warmup"] = s.warmup();
  if (s.has_decay_updates()) j["decay_updates"] = s.decay_updates();
  if (s.has_min_lr_frac()) j["min_lr_frac"] = s.min_lr_frac();
  if (s.has_pipemare_lr_warmup()) j["pipemare_lr_warmup"] = s.pipemare_lr_warmup();
  if (s.has_drift_lr_scale()) j["drift_lr_scale"] = s.drift_lr_scale();
  if (s.has_staleness()) j["staleness"] = s.staleness();
  if (s.has_data())
    j["data"] = {{"tokens", s.data().tokens()}, {"fnv1a64", fmt::format("{:016x}", s.data().fnv1a64())}};
  if (s.has_weight_decay()) j["weight_decay"] = s.weight_decay();
  if (s.has_sampler()) j["sampler"] = s.sampler();
  if (s.has_eval_batches()) j["eval_batches"] = s.eval_batches();
  if (s.has_grad_clip()) j["grad_clip"] = s.grad_clip();
  if (s.has_chunks()) j["chunks"] = s.chunks();
  return j.dump();
}

}  // namespace paci::study
