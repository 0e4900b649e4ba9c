// See train.h.
#include "exec/model/train.h"

#include <algorithm>
#include <cmath>

namespace paci::exec {

Result<Trainer> trainer_create(const TrainConfig& cfg, DataSplit data) {
  if (cfg.B < 1) return Status::InvalidArgument("--microbatch-size must be at least 1");
  if (cfg.accum < 1) return Status::InvalidArgument("--accum must be at least 1");
  if (cfg.updates < 0) return Status::InvalidArgument("--updates must not be negative");
  if (!(cfg.lr > 0.0f)) return Status::InvalidArgument("--lr must be positive");
  if (cfg.warmup < 0) return Status::InvalidArgument("--warmup must not be negative");
  if (cfg.eval_batches < 1) return Status::InvalidArgument("--eval-batches must be at least 1");
  Result<StageModel> model = StageModel::Create(cfg.model, 0, gpt_num_layers(cfg.model));
  if (!model.ok()) return model.status();
  PACI_RETURN_IF_ERROR(sampler_check(data.train, cfg.model.block_size, "training split"));
  PACI_RETURN_IF_ERROR(sampler_check(data.val, cfg.model.block_size, "validation split"));
  Trainer tr;
  tr.cfg = cfg;
  tr.model = std::move(model).value();
  const ParamLayout& L = tr.model.layout();
  tr.params.assign(L.total, 0.0f);
  tr.grads.assign(L.total, 0.0f);
  gpt_init_params(cfg.model, L, cfg.seed, tr.params.data());
  tr.opt = adamw_create(cfg.adamw, L, 0, L.total);
  tr.data = std::move(data);
  tr.sampler.kind = cfg.sampler;
  tr.sampler.rng.state = cfg.seed;
  const size_t bt = static_cast<size_t>(cfg.B) * cfg.model.block_size;
  tr.inputs.resize(bt);
  tr.targets.resize(bt);
  return tr;
}

StepStats trainer_step(Trainer* tr) {
  const TrainConfig& c = tr->cfg;
  const int T = c.model.block_size;
  std::fill(tr->grads.begin(), tr->grads.end(), 0.0f);
  std::vector<float> out, dinp;
  double loss_sum = 0.0;
  const float dloss = 1.0f / static_cast<float>(c.accum);
  for (int k = 0; k < c.accum; k++) {
    sampler_next(&tr->sampler, tr->data.train, c.B, T, tr->inputs.data(), tr->targets.data());
    StageInput in;
    in.tokens = tr->inputs.data();
    in.targets = tr->targets.data();
    tr->model.forward(tr->params.data(), in, c.B, T, &tr->saved, &out);
    loss_sum += tr->saved.loss;
    tr->model.backward(tr->params.data(), &tr->saved, &dloss, &dinp, tr->grads.data());
  }
  StepStats st;
  st.loss = static_cast<float>(loss_sum / c.accum);
  const double sq = grad_sq_norm(tr->grads.data(), tr->grads.size());
  st.grad_norm = static_cast<float>(std::sqrt(sq));
  const float scale = grad_clip_scale(sq, c.grad_clip);
  if (scale != 1.0f)
    for (float& g : tr->grads) g *= scale;
  const int64_t total = c.decay_updates > 0 ? c.decay_updates : c.updates;
  st.lr = lr_schedule(tr->opt.step, c.lr, c.warmup, total, c.min_lr_frac);
  adamw_update(&tr->opt, tr->params.data(), tr->grads.data(), st.lr);
  return st;
}

float eval_loss(const StageModel& model, const float* params, const std::vector<uint16_t>& tokens, int B,
                int batches) {
  const int T = model.config().block_size;
  Sampler s;
  s.kind = SamplerKind::kSequential;
  std::vector<int> in(static_cast<size_t>(B) * T), tg(in.size());
  std::vector<float> out;
  StageSaved saved;
  double sum = 0.0;
  for (int k = 0; k < batches; k++) {
    sampler_next(&s, tokens, B, T, in.data(), tg.data());
    StageInput si;
    si.tokens = in.data();
    si.targets = tg.data();
    model.forward(params, si, B, T, &saved, &out);
    sum += saved.loss;
  }
  return static_cast<float>(sum / batches);
}

float trainer_eval(Trainer* tr) {
  return eval_loss(tr->model, tr->params.data(), tr->data.val, tr->cfg.B, tr->cfg.eval_batches);
}

}  // namespace paci::exec
