// See train.h.
#include "exec/model/train.h"

#include <algorithm>
#include <cmath>

#include "exec/model/kernel_clock.h"

namespace paci::exec {

namespace {

// Floats one micro-batch's forward and backward touch, roughly: weights, gradients and AdamW
// state (4 copies), activations saved per block (~16 x B T C plus the attention matrix) and logits.
double WorkFloats(const TrainConfig& c) {
  const double C = c.model.n_embd, L = c.model.n_layer, V = c.model.vocab_size;
  const double T = c.model.block_size, B = c.B, H = c.model.n_head;
  const double params = V * C + T * C + L * (12 * C * C + 13 * C) + 2 * C;
  const double acts = B * T * (L * (16 * C) + V) + B * H * T * T * L;
  return 4 * params + acts;
}

}  // namespace

Status train_config_check(const TrainConfig& cfg) {
  PACI_RETURN_IF_ERROR(gpt_config_validate(cfg.model));
  if (cfg.B < 1) return Status::InvalidArgument("--microbatch-size must be at least 1");
  if (cfg.accum < 1) return Status::InvalidArgument("--accum must be at least 1");
  if (cfg.updates < 0) return Status::InvalidArgument("--updates must not be negative");
  if (cfg.decay_updates < 0) return Status::InvalidArgument("--decay-updates must not be negative");
  if (!(cfg.lr > 0.0f && cfg.lr <= kMaxLearningRate))
    return Status::InvalidArgument("--lr must be in (0, " + std::to_string(kMaxLearningRate) + "]");
  if (!(cfg.min_lr_frac >= 0.0f && cfg.min_lr_frac <= 1.0f))
    return Status::InvalidArgument("--min-lr-frac must be in [0, 1]");
  if (!std::isfinite(cfg.grad_clip)) return Status::InvalidArgument("--grad-clip must be a finite number");
  if (!(cfg.adamw.weight_decay >= 0.0f && cfg.adamw.weight_decay * cfg.lr < 1.0f))
    return Status::InvalidArgument("--weight-decay must be >= 0 with --weight-decay x --lr < 1 (AdamW "
                                   "scales the weights by 1 - lr x wd each step)");
  if (!(cfg.adamw.beta1 >= 0.0f && cfg.adamw.beta1 < 1.0f && cfg.adamw.beta2 >= 0.0f && cfg.adamw.beta2 < 1.0f))
    return Status::InvalidArgument("AdamW betas must be in [0, 1)");
  if (!(cfg.adamw.eps > 0.0f) || !std::isfinite(cfg.adamw.eps))
    return Status::InvalidArgument("AdamW eps must be a finite number > 0");
  if (cfg.warmup < 0) return Status::InvalidArgument("--warmup must not be negative");
  if (cfg.eval_batches < 1) return Status::InvalidArgument("--eval-batches must be at least 1");
  if (WorkFloats(cfg) > static_cast<double>(kMaxTrainFloats))
    return Status::InvalidArgument(
        "--layers/--dim/--heads/--seq/--microbatch-size/--vocab: the model and one micro-batch need ~" +
        std::to_string(static_cast<int64_t>(WorkFloats(cfg) * 4 / (1 << 20))) +
        " MiB, beyond the limit kMaxTrainFloats (exec/train.h) of " +
        std::to_string((kMaxTrainFloats * 4) >> 20) + " MiB");
  return Status::Ok();
}

Status train_data_check(const TrainConfig& cfg, const DataSplit& data) {
  PACI_RETURN_IF_ERROR(sampler_check(data.train, cfg.model.block_size, "training split"));
  return sampler_check(data.val, cfg.model.block_size, "validation split");
}

Result<Trainer> trainer_create(const TrainConfig& cfg, DataSplit data) {
  PACI_RETURN_IF_ERROR(train_config_check(cfg));
  Result<StageModel> model = StageModel::Create(cfg.model, 0, gpt_num_layers(cfg.model));
  if (!model.ok()) return model.status();
  PACI_RETURN_IF_ERROR(train_data_check(cfg, data));
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
  zero_floats(tr->grads.data(), tr->grads.size());
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
  const int64_t total = c.decay_updates > 0 ? c.decay_updates : c.updates;
  st.lr = lr_schedule(tr->opt.step, c.lr, c.warmup, total, c.min_lr_frac);
  adamw_update(&tr->opt, tr->params.data(), tr->grads.data(), st.lr, scale);
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
