#include "exec/runtime/stage_worker.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "exec/runtime/exchange_plan.h"
#include "exec/runtime/pipeline_eval.h"
#include "exec/runtime/weight_versions.h"
#include "sched/expanded_schedule.h"
#include "sched/op_messages.h"
#include "sched/op_trace.h"
#include "sched/schedule_text.h"
#include "sched/weight_version_analysis.h"

namespace paci::exec {
namespace {

// An op issued to the backend and not yet reported.
struct IssuedOp {
  PlainOp op;
  uint64_t timer = 0;
  int64_t version = -1;
  bool has_update = false;  // an optimizer step of the stage that holds the loss
  ir::UpdateMetric update;
  size_t loss_first = 0, loss_count = 0;
};

class StageWorker {
 public:
  StageWorker(const StageWorkerSetup& setup, StageReport* report);
  // `opens`/`closes`: the op is the first/last of an exchange (a run of sends and receives).
  Status Play(const PlainOp& op, bool opens, bool closes);
  // Reports every op that has completed, in issue order; with `wait`, all of them.
  void ReportCompleted(bool wait);
  const Sampler& sampler() const { return sampler_; }

 private:
  std::string Where(const PlainOp& op) const {
    return fmt::format("stage {}: op {} (id {})", s_.stage, OpText(op, P_), op.id);
  }

  void AnalyzeDrift();
  int64_t FutureDrift(const PlainOp& op) const;
  Status Forward(const PlainOp& op, int64_t* version);
  Status Backward(const PlainOp& op, bool with_weight, int64_t* version);
  Status WeightGrad(const PlainOp& op, int64_t* version);
  void OptimizerStep(IssuedOp* issued);
  Status Communicate(const PlainOp& op);
  const std::vector<float>& LearningRates();
  void SnapshotForEval(int64_t update);

  const StageWorkerSetup& s_;
  StageBackend& backend_;
  StageReport* report_;
  uint32_t P_, V_;
  float loss_divisor_;
  int64_t decay_updates_;
  WeightVersions versions_;
  Sampler sampler_;
  uint64_t next_sample_mb_ = 1;
  size_t losses_issued_ = 0, group_first_loss_ = 0;
  uint64_t tokens_done_ = 0;
  // Drift, and gradient staleness (live version - forward's), of the backwards since the last
  // optimizer step: drift-lr-scale's and delay-comp's means.
  int64_t drift_sum_ = 0, stale_sum_ = 0, drift_backwards_ = 0;
  // Predict: the drift each forward's micro-batch will have, [(micro_batch - 1) * V + chunk];
  // stage-lr: the stage's largest drift.
  std::vector<int32_t> future_drift_;
  int64_t max_drift_ = 0;
  // Ops issued and not yet reported: [issued_head_, end). A vector compacted now and then, not a
  // deque, whose blocks would be allocated and freed as ops pass through it.
  std::vector<IssuedOp> issued_;
  size_t issued_head_ = 0;
  ir::TraceEvent event_;
  // Reused per op, so the steady state allocates nothing: a micro-batch's inputs and targets,
  // an update's losses.
  std::vector<int> tokens_, targets_;
  std::vector<float> losses_, lr_;
};

ir::WeightPolicy PolicyOf(const StageWorkerSetup& s) { return s.schedule->streams(s.stage).weight_policy(); }

StageWorker::StageWorker(const StageWorkerSetup& setup, StageReport* report)
    : s_(setup), backend_(*setup.backend), report_(report),
      versions_(PolicyOf(setup), setup.schedule->spec().accum()) {
  report->updates.reserve(static_cast<size_t>(CountUpdates(*setup.schedule)));  // no growth mid-run
  const ir::PipelineSpec& spec = setup.schedule->spec();
  P_ = spec.stages();
  V_ = spec.chunks();
  const bool flush = PolicyOf(setup) == ir::SYNC_AFTER_FLUSH;
  loss_divisor_ = static_cast<float>(flush ? spec.microbatches_per_iteration() : spec.accum());
  decay_updates_ = DecayLength(setup.train, *setup.schedule, setup.start);
  tokens_done_ = setup.start.tokens;
  if (setup.start.resumed) {
    sampler_ = setup.start.sampler;
  } else {
    sampler_.kind = setup.train.sampler;
    sampler_.rng.state = setup.train.seed;  // as trainer_create: the same batches as unpipelined
  }
  if (setup.staleness.kind == StalenessKind::kPredict || setup.staleness.kind == StalenessKind::kStageLr)
    AnalyzeDrift();
}

// The schedule is data: every micro-batch's drift is known before it runs. The tools have
// checked the schedule with the same analysis, so it does not fail here.
void StageWorker::AnalyzeDrift() {
  const bool predict = s_.staleness.kind == StalenessKind::kPredict;
  Result<WeightVersionReport> report = AnalyzeWeightVersions(*s_.schedule, [&](const MicroBatchVersions& m) {
    if (!predict || m.stage != s_.stage || m.micro_batch == 0) return;
    const size_t i = static_cast<size_t>(m.micro_batch - 1) * V_ + m.chunk;
    if (i >= future_drift_.size()) future_drift_.resize(i + 1, 0);
    future_drift_[i] = static_cast<int32_t>(m.drift);
  });
  if (report.ok()) max_drift_ = report->stages[s_.stage].max_drift;
}

int64_t StageWorker::FutureDrift(const PlainOp& op) const {
  const size_t i = static_cast<size_t>(op.micro_batch - 1) * V_ + op.chunk;
  return op.micro_batch > 0 && i < future_drift_.size() ? future_drift_[i] : 0;
}

Status StageWorker::Forward(const PlainOp& op, int64_t* version) {
  const int B = s_.train.B, T = s_.train.model.block_size;
  std::vector<int>& tokens = tokens_;
  std::vector<int>& targets = targets_;
  const bool first = IsFirstVirtual(op, P_), last = IsLastVirtual(op, P_, V_);
  if (first || last) {
    // Stages draw batches in micro-batch order from the same seed, so the first stage's inputs
    // and the last stage's targets come from the same windows, as in unpipelined training.
    if (op.micro_batch != next_sample_mb_)
      return Status::Internal(Where(op) + ": forward of this micro-batch out of order");
    ++next_sample_mb_;
    tokens.resize(static_cast<size_t>(B) * T);
    targets.resize(static_cast<size_t>(B) * T);
    sampler_next(&sampler_, s_.data->train, B, T, tokens.data(), targets.data());
  }
  *version = versions_.BeginForward(op.micro_batch, op.chunk);
  PACI_RETURN_IF_ERROR(backend_.Forward({op.micro_batch, op.chunk}, *version, FutureDrift(op),
                                        first ? tokens.data() : nullptr, last ? targets.data() : nullptr));
  if (last) ++losses_issued_;
  return Status::Ok();
}

Status StageWorker::Backward(const PlainOp& op, bool with_weight, int64_t* version) {
  const int64_t forward = versions_.ForwardVersion(op.micro_batch, op.chunk);
  if (forward < 0) return Status::Internal(Where(op) + ": backward before its forward");
  *version = versions_.BackwardVersion(op.micro_batch, op.chunk);
  const int64_t drift = *version - forward;
  report_->max_drift = std::max(report_->max_drift, drift);
  drift_sum_ += drift;
  stale_sum_ += versions_.live() - forward;
  ++drift_backwards_;
  PACI_RETURN_IF_ERROR(
      backend_.Backward({op.micro_batch, op.chunk}, *version, drift, 1.0f / loss_divisor_, with_weight));
  if (with_weight)
    for (int64_t v : versions_.EndBackward(op.micro_batch, op.chunk)) backend_.DropVersion(v);
  return Status::Ok();
}

Status StageWorker::WeightGrad(const PlainOp& op, int64_t* version) {
  *version = versions_.BackwardVersion(op.micro_batch, op.chunk);
  PACI_RETURN_IF_ERROR(backend_.BackwardWeight({op.micro_batch, op.chunk}));
  for (int64_t v : versions_.EndBackward(op.micro_batch, op.chunk)) backend_.DropVersion(v);
  return Status::Ok();
}

const std::vector<float>& StageWorker::LearningRates() {
  const TrainConfig& t = s_.train;
  const int64_t step = s_.start.updates + versions_.live();  // updates done, as AdamW::step
  std::vector<float>& lr = lr_;                              // reused: no allocation per update
  lr.assign(V_, lr_schedule(step, t.lr, t.warmup, decay_updates_, t.min_lr_frac));
  if (s_.schedule->spec().kind() == ir::PIPEMARE) {
    // PipeMare T1: stages with more delay start with a smaller step, annealed to plain lr.
    const ir::PipelineSpec& spec = s_.schedule->spec();
    const double tau = std::max<double>(1.0, std::ceil(double(P_ - 1 - s_.stage) / spec.accum()));
    const double p = std::max(0.0, 1.0 - double(step) / double(s_.pipemare.lr_warmup));
    for (float& l : lr) l = static_cast<float>(l * std::pow(tau, -p));
  }
  const Staleness& st = s_.staleness;
  if (st.kind == StalenessKind::kDriftLrScale && st.param > 0 && drift_backwards_ > 0) {
    // The step applies gradients computed on weights `mean drift` updates old: take a smaller one.
    const double mean_drift = static_cast<double>(drift_sum_) / static_cast<double>(drift_backwards_);
    for (float& l : lr) l = static_cast<float>(l / (1.0 + st.param * mean_drift));
  }
  if (st.kind == StalenessKind::kStageLr && st.param > 0 && max_drift_ > 0)
    for (float& l : lr) l = static_cast<float>(l / (1.0 + st.param * static_cast<double>(max_drift_)));
  return lr;
}

void StageWorker::OptimizerStep(IssuedOp* issued) {
  const std::vector<float>& lr = LearningRates();
  if (versions_.KeepBeforeStep()) backend_.KeepVersion(versions_.live());
  const double stale =
      drift_backwards_ > 0 ? static_cast<double>(stale_sum_) / static_cast<double>(drift_backwards_) : 0.0;
  backend_.OptimizerStep(lr, stale);
  drift_sum_ = stale_sum_ = drift_backwards_ = 0;
  for (int64_t v : versions_.AfterStep()) backend_.DropVersion(v);
  const int64_t update = s_.start.updates + versions_.live();
  const size_t group = losses_issued_ - group_first_loss_;
  if (group > 0) {
    const int64_t tokens = static_cast<int64_t>(group) * s_.train.B * s_.train.model.block_size;
    tokens_done_ += static_cast<uint64_t>(tokens);
    issued->has_update = true;
    issued->update.set_update(static_cast<uint64_t>(update));
    issued->update.set_val_loss(std::nan(""));
    issued->update.set_learning_rate(lr.back());
    issued->update.set_tokens(tokens_done_);
    issued->loss_first = group_first_loss_;
    issued->loss_count = group;
    group_first_loss_ = losses_issued_;
  }
  if (s_.eval && s_.eval->Due(update)) SnapshotForEval(update);
}

// Copies of this stage's weights right after `update`, for the validation loss: the live
// weights and every version the schedule uses stay untouched.
void StageWorker::SnapshotForEval(int64_t update) {
  backend_.Synchronize();
  const ParamLayout layout = gpt_param_layout(s_.train.model);
  for (uint32_t c = 0; c < V_; ++c) {
    ChunkState state;
    backend_.ExportChunk(c, &state);
    s_.eval->AddSlice(update, layout.layer_offset[s_.virtual_ranges[VirtualStage(s_.stage, c, P_)].first],
                      std::move(state.weights));
  }
}

Status StageWorker::Communicate(const PlainOp& op) {
  const std::optional<MessageKey> key = MessageOf(op, P_, V_);
  if (!key) return Status::Internal(Where(op) + ": the message leaves the pipeline");
  const MicroBatchSlot slot{op.micro_batch, op.chunk};
  if (IsSend(op.kind))
    return backend_.Send(*s_.transport, StageChunkOf(key->to_virtual, P_).stage, *key, slot);
  Status st =
      backend_.Recv(*s_.transport, StageChunkOf(key->from_virtual, P_).stage, *key, slot, s_.recv_timeout);
  if (!st.ok()) {
    const std::string msg = fmt::format("at {}: {}", OpText(op, P_), st.message());
    if (st.code() == Status::Code::kDeadlineExceeded) return Status::DeadlineExceeded(msg);
    // A device error of this stage's backend stays Internal: the trainer reports the first
    // non-FailedPrecondition status as the root cause, and FailedPrecondition means "told to stop".
    if (st.code() == Status::Code::kInternal) return Status::Internal(msg);
    return Status::FailedPrecondition(msg);
  }
  return Status::Ok();
}

Status StageWorker::Play(const PlainOp& op, bool opens, bool closes) {
  IssuedOp issued;
  issued.op = op;
  issued.timer = backend_.BeginOp();
  if (opens) s_.transport->BeginExchange();
  Status st;
  switch (op.kind) {
    case ir::FORWARD: st = Forward(op, &issued.version); break;
    case ir::BACKWARD: st = Backward(op, true, &issued.version); break;
    case ir::BACKWARD_INPUT: st = Backward(op, false, &issued.version); break;
    case ir::BACKWARD_WEIGHT: st = WeightGrad(op, &issued.version); break;
    case ir::OPTIMIZER_STEP:
      issued.version = versions_.live();
      OptimizerStep(&issued);
      // Once per update: a sink that has failed (its run deleted) stops the stage, and its abort
      // the others, instead of training to the end for nothing.
      if (s_.sink) st = s_.sink->Failure();
      break;
    default: st = Communicate(op);
  }
  // The exchange is posted inside its last op, so that op's time includes the wait for it.
  if (closes) {
    Status posted = s_.transport->EndExchange(s_.recv_timeout);
    if (st.ok() && !posted.ok()) {
      const std::string msg = fmt::format("{}: {}", Where(op), posted.message());
      st = posted.code() == Status::Code::kDeadlineExceeded ? Status::DeadlineExceeded(msg)
                                                            : Status::FailedPrecondition(msg);
    }
  }
  backend_.EndOp(issued.timer);
  // A device error in a method without a Status return (optimizer step, kept versions, timing)
  // is left sticky in the backend: this op is where the stage learns of it.
  if (st.ok()) st = backend_.Failure();
  if (!st.ok())
    return st.code() == Status::Code::kInternal ? Status::Internal(Where(op) + ": " + st.message()) : st;
  report_->weight_versions = std::max(report_->weight_versions, versions_.VersionsHeld());
  ++report_->ops;
  if (issued_head_ == issued_.size()) {
    issued_.clear(), issued_head_ = 0;
  } else if (issued_head_ >= 64 && 2 * issued_head_ >= issued_.size()) {
    issued_.erase(issued_.begin(), issued_.begin() + static_cast<ptrdiff_t>(issued_head_));
    issued_head_ = 0;
  }
  issued_.push_back(std::move(issued));
  ReportCompleted(false);
  return Status::Ok();
}

void StageWorker::ReportCompleted(bool wait) {
  OpTimes t;
  while (issued_head_ < issued_.size() && backend_.OpTimesIfDone(issued_[issued_head_].timer, wait, &t)) {
    IssuedOp& done = issued_[issued_head_];
    report_->peak_bytes = std::max(report_->peak_bytes, t.live_bytes);
    if (report_->first_op_start_ns < 0) report_->first_op_start_ns = t.start_ns;
    report_->last_op_end_ns = std::max(report_->last_op_end_ns, static_cast<int64_t>(t.end_ns));
    if (done.has_update) {
      losses_.resize(done.loss_count);
      backend_.ReadLosses(done.loss_first, done.loss_count, losses_.data());
      double sum = 0.0;
      for (float l : losses_) sum += l;
      done.update.set_loss(sum / static_cast<double>(done.loss_count));
      done.update.set_wall_ns(t.start_ns);
      if (s_.eval && s_.eval->Due(static_cast<int64_t>(done.update.update()))) {
        s_.eval->AddMetric(done.update);  // emitted with its validation loss
      } else {
        report_->updates.push_back(done.update);
        if (s_.sink) s_.sink->OnUpdate(done.update);
      }
    }
    if (s_.sink) {
      FillTraceEvent(done.op, t.start_ns, t.end_ns, done.version, t.live_bytes, &event_);
      s_.sink->OnOp(event_);
    }
    ++issued_head_;
  }
}

}  // namespace

int64_t CountUpdates(const ir::Schedule& schedule) {
  int64_t n = 0;
  const std::vector<uint64_t> bases = StageIdBases(schedule);
  for (StageOpCursor c(schedule.streams(0), bases[0]); !c.Done(); c.Next())
    n += c.Current().kind == ir::OPTIMIZER_STEP;
  return n;
}

int64_t DecayLength(const TrainConfig& train, const ir::Schedule& schedule, const SegmentStart& start) {
  return train.decay_updates > 0 ? train.decay_updates : start.updates + CountUpdates(schedule);
}

Status RunStageWorker(const StageWorkerSetup& setup, StageReport* report) {
  StageWorker worker(setup, report);
  // Over a rendezvous transport (NCCL) the ops are posted in PlanExchanges' order, else the IR's.
  const bool planned = setup.transport->rendezvous();
  std::vector<PlainOp> plan;
  if (planned) {
    Result<std::vector<std::vector<PlainOp>>> all = PlanExchanges(*setup.schedule);
    if (!all.ok()) return all.status();
    plan = std::move((*all)[setup.stage]);
  }
  const std::vector<uint64_t> bases = StageIdBases(*setup.schedule);
  StageOpCursor c(setup.schedule->streams(setup.stage), bases[setup.stage]);
  size_t next = 0;
  const auto done = [&] { return planned ? next == plan.size() : c.Done(); };
  bool in_exchange = false;
  while (!done()) {
    const PlainOp op = planned ? plan[next] : c.Current();
    planned ? void(++next) : c.Next();
    const PlainOp* following = done() ? nullptr : planned ? &plan[next] : &c.Current();
    // An exchange (exchange_plan.h): the run of sends and receives this op starts or ends.
    const bool comm = IsMessageOp(op.kind);
    const bool opens = comm && !in_exchange;
    const bool closes = comm && (following == nullptr || !IsMessageOp(following->kind));
    in_exchange = comm && !closes;
    Status st = worker.Play(op, opens, closes);
    if (!st.ok()) {
      setup.backend->Synchronize();
      return st;
    }
  }
  worker.ReportCompleted(true);
  PACI_RETURN_IF_ERROR(setup.backend->Failure());  // a failed backend completes nothing more
  report->peak_bytes = std::max(report->peak_bytes, setup.backend->PeakBytes());
  report->sampler = worker.sampler();
  report->activation_bytes = setup.backend->ActivationBytes();
  return Status::Ok();
}

}  // namespace paci::exec
