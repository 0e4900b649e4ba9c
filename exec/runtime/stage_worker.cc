#include "exec/runtime/stage_worker.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "exec/model/adamw.h"
#include "exec/runtime/stage_weights.h"
#include "proto/ir_names.h"
#include "sched/expanded_schedule.h"
#include "sched/op_messages.h"

namespace paci::exec {
namespace {

using MbKey = std::pair<uint64_t, uint32_t>;  // (micro-batch, chunk)

uint64_t SavedBytes(const StageSaved& s) {
  uint64_t bytes = 0;
  for (const LayerSaved& l : s.layers) {
    for (const std::vector<float>* v :
         {&l.inp, &l.ln1, &l.ln1_mean, &l.ln1_rstd, &l.qkv, &l.atty, &l.att, &l.r2, &l.ln2,
          &l.ln2_mean, &l.ln2_rstd, &l.fch, &l.fch_gelu, &l.logits, &l.probs, &l.losses, &l.dy,
          &l.dfch, &l.dln2, &l.dr2, &l.dqkv, &l.dln1, &l.dlogits})
      bytes += v->capacity() * sizeof(float);
    bytes += (l.tokens.capacity() + l.targets.capacity()) * sizeof(int);
  }
  return bytes;
}

std::string OpText(const PlainOp& op) {
  return fmt::format("{}{}{}{} (op {})", op.stage, OpKindCode(op.kind), op.micro_batch,
                     op.chunk > 0 ? fmt::format(".{}", op.chunk) : std::string(), op.id);
}

class StageWorker {
 public:
  StageWorker(const StageWorkerSetup& setup, StageReport* report);
  Status Create();
  Status Play(const PlainOp& op);

 private:
  struct Chunk {
    StageModel model;
    AdamW opt;
    std::vector<float> delta;  // PipeMare: EMA of weight updates
  };
  uint32_t Virtual(uint32_t chunk) const { return chunk * P_ + s_.stage; }
  bool FirstVirtual(uint32_t chunk) const { return Virtual(chunk) == 0; }
  bool LastVirtual(uint32_t chunk) const { return Virtual(chunk) + 1 == P_ * V_; }
  float* Live(uint32_t c) { return s_.params + chunks_[c].model.param_offset(); }
  float* Grads(uint32_t c) { return s_.grads + chunks_[c].model.param_offset(); }

  Status Forward(const PlainOp& op, int64_t* version);
  Status Backward(const PlainOp& op, bool with_weight, int64_t* version);
  void WeightGrad(const PlainOp& op);
  void OptimizerStep(int64_t wall_ns);
  Status Communicate(const PlainOp& op);
  const float* BackwardWeights(const PlainOp& op, int64_t version);
  uint64_t LiveBytes() const;

  const StageWorkerSetup& s_;
  StageReport* report_;
  uint32_t P_, V_;
  ir::WeightPolicy policy_;
  float loss_divisor_;
  int64_t total_updates_;
  std::vector<Chunk> chunks_;
  std::unique_ptr<StageWeights> weights_;
  Sampler sampler_;
  uint64_t next_sample_mb_ = 1;
  std::map<MbKey, std::vector<float>> inbox_, outbox_;
  std::map<MbKey, StageSaved> saved_;
  std::map<MbKey, std::vector<int>> tokens_, targets_;
  std::vector<float> corrected_;  // PipeMare's backward weights
  double group_loss_ = 0.0;
  int group_count_ = 0;
  uint64_t tokens_done_ = 0;
};

StageWorker::StageWorker(const StageWorkerSetup& setup, StageReport* report)
    : s_(setup), report_(report) {
  const ir::PipelineSpec& spec = setup.schedule->spec();
  P_ = spec.stages();
  V_ = std::max<uint32_t>(1, spec.chunks());
  policy_ = setup.schedule->streams(setup.stage).weight_policy();
  const bool flush = policy_ == ir::SYNC_AFTER_FLUSH;
  loss_divisor_ = static_cast<float>(flush ? spec.microbatches_per_iteration() : spec.accum());
  total_updates_ = CountUpdates(*setup.schedule);
  sampler_.kind = setup.train.sampler;
  sampler_.rng.state = setup.train.seed;  // as trainer_create: the same batches as unpipelined
}

Status StageWorker::Create() {
  std::vector<WeightSpan> spans;
  for (uint32_t c = 0; c < V_; ++c) {
    const LayerRange r = s_.virtual_ranges[Virtual(c)];
    Result<StageModel> model = StageModel::Create(s_.train.model, r.first, r.last);
    if (!model.ok()) return model.status();
    Chunk chunk{std::move(*model), {}, {}};
    chunk.opt = adamw_create(s_.train.adamw, chunk.model.layout(), chunk.model.param_offset(),
                             chunk.model.num_params());
    if (s_.schedule->spec().kind() == ir::PIPEMARE) chunk.delta.assign(chunk.model.num_params(), 0.0f);
    chunks_.push_back(std::move(chunk));
    spans.push_back({Live(c), chunks_[c].model.num_params()});
  }
  weights_ = std::make_unique<StageWeights>(policy_, std::move(spans), s_.schedule->spec().accum());
  return Status::Ok();
}

Status StageWorker::Forward(const PlainOp& op, int64_t* version) {
  const MbKey key{op.micro_batch, op.chunk};
  const int B = s_.train.B, T = s_.train.model.block_size;
  StageInput in;
  if (FirstVirtual(op.chunk) || LastVirtual(op.chunk)) {
    // Stages draw batches in micro-batch order from the same seed, so the first stage's inputs
    // and the last stage's targets come from the same windows, as in unpipelined training.
    if (op.micro_batch != next_sample_mb_)
      return Status::Internal(fmt::format("stage {}: forward of micro-batch {} out of order",
                                          s_.stage, op.micro_batch));
    ++next_sample_mb_;
    std::vector<int>& tok = tokens_[key];
    std::vector<int>& tgt = targets_[key];
    tok.resize(static_cast<size_t>(B) * T);
    tgt.resize(static_cast<size_t>(B) * T);
    sampler_next(&sampler_, s_.data->train, B, T, tok.data(), tgt.data());
    if (FirstVirtual(op.chunk)) in.tokens = tok.data();
    if (LastVirtual(op.chunk)) in.targets = tgt.data();
  }
  if (!FirstVirtual(op.chunk)) {
    auto it = inbox_.find(key);
    if (it == inbox_.end())
      return Status::Internal(fmt::format("stage {}: no activation received for {}", s_.stage, OpText(op)));
    in.acts = it->second.data();
  }
  *version = weights_->BeginForward(op.micro_batch, op.chunk);
  StageSaved& saved = saved_[key];
  std::vector<float> out;
  chunks_[op.chunk].model.forward(weights_->Weights(op.chunk, *version), in, B, T, &saved, &out);
  inbox_.erase(key);
  if (report_->activation_bytes == 0) report_->activation_bytes = SavedBytes(saved);
  if (LastVirtual(op.chunk)) {
    group_loss_ += saved.loss;
    ++group_count_;
  } else {
    outbox_[key] = std::move(out);
  }
  return Status::Ok();
}

const float* StageWorker::BackwardWeights(const PlainOp& op, int64_t version) {
  const float* w = weights_->Weights(op.chunk, version);
  const Chunk& c = chunks_[op.chunk];
  const int64_t drift = version - weights_->ForwardVersion(op.micro_batch, op.chunk);
  if (c.delta.empty() || drift <= 0) return w;
  // PipeMare discrepancy correction: estimate the weights the forward used.
  corrected_.resize(c.delta.size());
  for (size_t i = 0; i < c.delta.size(); ++i) corrected_[i] = w[i] - static_cast<float>(drift) * c.delta[i];
  return corrected_.data();
}

Status StageWorker::Backward(const PlainOp& op, bool with_weight, int64_t* version) {
  const MbKey key{op.micro_batch, op.chunk};
  auto saved = saved_.find(key);
  if (saved == saved_.end())
    return Status::Internal(fmt::format("stage {}: backward before forward at {}", s_.stage, OpText(op)));
  const float dloss = 1.0f / loss_divisor_;
  const float* dout = &dloss;
  if (!LastVirtual(op.chunk)) {
    auto it = inbox_.find(key);
    if (it == inbox_.end())
      return Status::Internal(fmt::format("stage {}: no gradient received for {}", s_.stage, OpText(op)));
    dout = it->second.data();
  }
  *version = weights_->BackwardVersion(op.micro_batch, op.chunk);
  report_->max_drift =
      std::max(report_->max_drift, *version - weights_->ForwardVersion(op.micro_batch, op.chunk));
  const float* w = BackwardWeights(op, *version);
  std::vector<float> dinp;
  const StageModel& model = chunks_[op.chunk].model;
  if (with_weight) {
    model.backward(w, &saved->second, dout, &dinp, Grads(op.chunk));
  } else {
    model.backward_input(w, &saved->second, dout, &dinp);
  }
  inbox_.erase(key);
  if (!FirstVirtual(op.chunk)) outbox_[key] = std::move(dinp);
  if (with_weight) {
    saved_.erase(saved);
    tokens_.erase(key);
    targets_.erase(key);
    weights_->EndBackward(op.micro_batch, op.chunk);
  }
  return Status::Ok();
}

void StageWorker::WeightGrad(const PlainOp& op) {
  const MbKey key{op.micro_batch, op.chunk};
  auto saved = saved_.find(key);
  PACI_CHECK(saved != saved_.end());
  chunks_[op.chunk].model.backward_weight(&saved->second, Grads(op.chunk));
  saved_.erase(saved);
  tokens_.erase(key);
  targets_.erase(key);
  weights_->EndBackward(op.micro_batch, op.chunk);
}

void StageWorker::OptimizerStep(int64_t wall_ns) {
  const TrainConfig& t = s_.train;
  float lr = 0.0f;
  weights_->BeforeStep();
  for (uint32_t c = 0; c < V_; ++c) {
    Chunk& ch = chunks_[c];
    lr = lr_schedule(ch.opt.step, t.lr, t.warmup, total_updates_, t.min_lr_frac);
    if (!ch.delta.empty()) {
      // PipeMare T1: stages with more delay start with a smaller step, annealed to plain lr.
      const ir::PipelineSpec& spec = s_.schedule->spec();
      const double tau = std::max<double>(1.0, std::ceil(double(P_ - 1 - s_.stage) / spec.accum()));
      const double p = std::max(0.0, 1.0 - double(ch.opt.step) / double(s_.pipemare.lr_warmup));
      lr = static_cast<float>(lr * std::pow(tau, -p));
    }
    float* w = Live(c);
    const size_t n = ch.model.num_params();
    std::vector<float> before;
    if (!ch.delta.empty()) before.assign(w, w + n);
    adamw_update(&ch.opt, w, Grads(c), lr);
    std::fill(Grads(c), Grads(c) + n, 0.0f);
    const float g = s_.pipemare.gamma;
    for (size_t i = 0; i < ch.delta.size(); ++i) ch.delta[i] = g * ch.delta[i] + (1 - g) * (w[i] - before[i]);
  }
  weights_->AfterStep();
  if (group_count_ > 0) {
    const int64_t tokens = int64_t{group_count_} * t.B * t.model.block_size;
    tokens_done_ += static_cast<uint64_t>(tokens);
    ir::UpdateMetric m;
    m.set_update(static_cast<uint64_t>(weights_->live_version()));
    m.set_loss(group_loss_ / group_count_);
    m.set_val_loss(std::nan(""));
    m.set_learning_rate(lr);
    m.set_tokens(tokens_done_);
    m.set_wall_ns(wall_ns);
    report_->updates.push_back(m);
    if (s_.sink) s_.sink->OnUpdate(m);
    group_loss_ = 0.0;
    group_count_ = 0;
  }
}

Status StageWorker::Communicate(const PlainOp& op) {
  const std::optional<MessageKey> key = MessageOf(op, P_, V_);
  if (!key) return Status::Internal(fmt::format("stage {}: {} leaves the pipeline", s_.stage, OpText(op)));
  const MbKey mb{op.micro_batch, op.chunk};
  if (IsSend(op.kind)) {
    auto it = outbox_.find(mb);
    PACI_CHECK(it != outbox_.end());
    const uint32_t to = StageChunkOf(key->to_virtual, P_).stage;
    Status st = s_.transport->Send(to, *key, it->second);
    outbox_.erase(it);
    return st;
  }
  const uint32_t from = StageChunkOf(key->from_virtual, P_).stage;
  Status st = s_.transport->Recv(from, *key, &inbox_[mb], s_.recv_timeout);
  if (!st.ok()) {
    const std::string msg = fmt::format("at {}: {}", OpText(op), st.message());
    return st.code() == Status::Code::kDeadlineExceeded ? Status::DeadlineExceeded(msg)
                                                        : Status::FailedPrecondition(msg);
  }
  return Status::Ok();
}

uint64_t StageWorker::LiveBytes() const {
  uint64_t bytes = weights_->CopyBytes();
  for (const Chunk& c : chunks_) bytes += c.model.num_params() * sizeof(float) * (4 + (c.delta.empty() ? 0 : 1));
  for (const auto& [k, s] : saved_) bytes += SavedBytes(s);
  for (const auto& [k, v] : inbox_) bytes += v.capacity() * sizeof(float);
  for (const auto& [k, v] : outbox_) bytes += v.capacity() * sizeof(float);
  return bytes;
}

Status StageWorker::Play(const PlainOp& op) {
  using Clock = std::chrono::steady_clock;
  const auto ns = [&](Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t - s_.origin).count();
  };
  const Clock::time_point start = Clock::now();
  int64_t version = -1;
  Status st;
  ir::Lane lane = ir::LANE_COMPUTE;
  switch (op.kind) {
    case ir::FORWARD: st = Forward(op, &version); break;
    case ir::BACKWARD: st = Backward(op, true, &version); break;
    case ir::BACKWARD_INPUT: st = Backward(op, false, &version); break;
    case ir::BACKWARD_WEIGHT:
      version = weights_->BackwardVersion(op.micro_batch, op.chunk);
      WeightGrad(op);
      break;
    case ir::OPTIMIZER_STEP:
      version = weights_->live_version();
      OptimizerStep(ns(start));
      break;
    default:
      lane = IsSend(op.kind) ? ir::LANE_SEND : ir::LANE_RECV;
      st = Communicate(op);
  }
  if (!st.ok()) return st;
  const uint64_t live = LiveBytes();
  report_->peak_bytes = std::max(report_->peak_bytes, live);
  report_->weight_versions = std::max(report_->weight_versions, weights_->VersionsHeld());
  ++report_->ops;
  if (s_.sink) {
    ir::TraceEvent e;
    e.set_op_id(op.id);
    e.set_stage(op.stage);
    e.set_start_ns(ns(start));
    e.set_end_ns(ns(Clock::now()));
    e.set_weight_version(version);
    e.set_live_bytes(live);
    e.set_kind(op.kind);
    e.set_micro_batch(op.micro_batch);
    e.set_chunk(op.chunk);
    e.set_lane(lane);
    s_.sink->OnOp(e);
  }
  return Status::Ok();
}

}  // namespace

int64_t CountUpdates(const ir::Schedule& schedule) {
  int64_t n = 0;
  const std::vector<uint64_t> bases = StageIdBases(schedule);
  for (StageOpCursor c(schedule.streams(0), bases[0]); !c.Done(); c.Next())
    n += c.Current().kind == ir::OPTIMIZER_STEP;
  return n;
}

Status RunStageWorker(const StageWorkerSetup& setup, StageReport* report) {
  StageWorker worker(setup, report);
  PACI_RETURN_IF_ERROR(worker.Create());
  const std::vector<uint64_t> bases = StageIdBases(*setup.schedule);
  for (StageOpCursor c(setup.schedule->streams(setup.stage), bases[setup.stage]); !c.Done(); c.Next())
    PACI_RETURN_IF_ERROR(worker.Play(c.Current()));
  return Status::Ok();
}

}  // namespace paci::exec
