#include "exec/runtime/cpu_backend.h"

#include <fmt/format.h>

#include <algorithm>

#include "exec/model/adamw.h"
#include "exec/runtime/pipemare.h"
#include "exec/runtime/staleness_math.h"
#include "exec/runtime/weight_estimate.h"

namespace paci::exec {

namespace {
// Calls f on every float buffer of a layer's record, then g on its two int buffers: the one list
// of them that counting, committing and clearing a record share.
template <class L, class F, class G>
void ForEachBuffer(L& l, F f, G g) {
  for (auto* v : {&l.inp, &l.ln1,      &l.ln1_mean, &l.ln1_rstd, &l.qkv,      &l.atty,   &l.att,    &l.r2,
                  &l.ln2, &l.ln2_mean, &l.ln2_rstd, &l.fch,      &l.fch_gelu, &l.logits, &l.probs,  &l.losses,
                  &l.dy,  &l.dfch,     &l.dln2,     &l.dr2,      &l.dqkv,     &l.dln1,   &l.dlogits})
    f(*v);
  g(l.tokens), g(l.targets);
}
}  // namespace

// Sizes, not capacities: a reused record keeps the capacity of its largest use, but holds only
// what this micro-batch's passes wrote (the bytes a fresh record would have allocated).
uint64_t SavedBytes(const StageSaved& s) {
  uint64_t bytes = 0;
  for (const LayerSaved& l : s.layers)
    ForEachBuffer(
        l, [&](const std::vector<float>& v) { bytes += v.size() * sizeof(float); },
        [&](const std::vector<int>& v) { bytes += v.size() * sizeof(int); });
  return bytes;
}

namespace {
std::string SlotText(const MicroBatchSlot& s) {
  return s.chunk > 0 ? fmt::format("micro-batch {} chunk {}", s.micro_batch, s.chunk)
                     : fmt::format("micro-batch {}", s.micro_batch);
}

// Writes every page of a reserved buffer once, so the first ops do not fault them in one by one
// (a plan is memory committed before the run, not promised).
template <class V>
void Commit(V& v) {
  v.resize(v.capacity());
  v.clear();
}

void CommitSaved(StageSaved& s) {
  for (LayerSaved& l : s.layers)
    ForEachBuffer(
        l, [](std::vector<float>& v) { Commit(v); }, [](std::vector<int>& v) { Commit(v); });
}

// Empties a record for its next micro-batch; every buffer keeps its capacity.
void ClearSaved(StageSaved& s) {
  for (LayerSaved& l : s.layers) {
    ForEachBuffer(
        l, [](std::vector<float>& v) { v.clear(); }, [](std::vector<int>& v) { v.clear(); });
    l.has_dgrads = false;
  }
  s.loss = 0.0f;
}

void ClearMessage(std::vector<float>& v) { v.clear(); }
}  // namespace

Result<std::unique_ptr<CpuBackend>> CpuBackend::Create(const CpuBackendSetup& setup) {
  std::unique_ptr<CpuBackend> b(new CpuBackend(setup));
  for (const LayerRange& r : setup.chunks) {
    Result<StageModel> model = StageModel::Create(setup.model, r.first, r.last);
    if (!model.ok()) return model.status();
    Chunk chunk{std::move(*model), {}, {}};
    chunk.opt =
        adamw_create(setup.adamw, chunk.model.layout(), chunk.model.param_offset(), chunk.model.num_params());
    if (setup.pipemare_delta) chunk.delta.assign(chunk.model.num_params(), 0.0f);
    b->chunks_.push_back(std::move(chunk));
  }
  b->last_lr_.assign(b->chunks_.size(), 0.0f);
  b->Reserve();
  if (setup.async) b->stream_ = std::make_unique<CpuStream>();
  return b;
}

// Makes and commits the plan's records (every buffer reserved for a whole micro-batch), message
// buffers and weight copies now; ops reuse them.
void CpuBackend::Reserve() {
  const int B = s_.B, T = s_.model.block_size;
  const size_t message = static_cast<size_t>(B) * T * s_.model.n_embd;
  saved_.resize(chunks_.size());
  for (uint32_t c = 0; c < chunks_.size(); ++c) {
    const uint32_t planned = c < s_.memory.records_per_chunk.size() ? s_.memory.records_per_chunk[c] : 1;
    saved_[c].set_least_recent_first(s_.memory.rotate_records);
    saved_[c].Reserve(planned, [&](StageSaved& r) {
      chunks_[c].model.reserve(B, T, &r, &scratch_);
      CommitSaved(r);
    });
  }
  Commit(scratch_.cur), Commit(scratch_.next), Commit(scratch_.tmp);
  if (s_.pipemare_delta) {
    // PipeMare's corrected backward weights and the weights before a step: one chunk at a time.
    size_t largest = 0;
    for (const Chunk& c : chunks_) largest = std::max(largest, c.model.num_params());
    corrected_.reserve(largest), before_.reserve(largest);
    Commit(corrected_), Commit(before_);
  }
  if (CostOf(s_.staleness.kind).layer_estimate) {
    size_t largest = 0;
    const bool forward = s_.staleness.kind == StalenessKind::kPredict;
    for (const Chunk& c : chunks_)
      largest = std::max(largest, AdamWeightEstimate::LargestLayer(c.model, forward));
    estimate_.reserve(largest);
    Commit(estimate_);
  }
  messages_.Reserve(std::max<uint32_t>(s_.memory.messages, 1), [&](std::vector<float>& v) {
    v.reserve(message);
    Commit(v);
  });
  kept_.Reserve(s_.memory.kept_versions, [&](VersionCopy& copy) {
    copy.resize(chunks_.size());
    for (uint32_t c = 0; c < chunks_.size(); ++c) {
      copy[c].reserve(chunks_[c].model.num_params());
      Commit(copy[c]);
    }
  });
}

size_t CpuBackend::BuffersBeyondPlan() const {
  size_t n = messages_.grown() + kept_.grown();
  for (const auto& t : saved_) n += t.grown();
  return n;
}

CpuBackend::~CpuBackend() {
  if (stream_) stream_->Synchronize();
}

int64_t CpuBackend::Now() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - s_.origin)
      .count();
}

Status CpuBackend::TakeError() {
  std::lock_guard l(mu_);
  return error_ ? *error_ : Status::Ok();
}

template <class Work>
Status CpuBackend::Run(Work&& work) {
  if (!stream_) return work();
  PACI_RETURN_IF_ERROR(TakeError());
  stream_->Enqueue([this, work = std::forward<Work>(work)]() mutable {
    if (TakeError().ok()) {
      Status st = work();
      std::lock_guard l(mu_);
      if (!st.ok()) error_ = st;
    }
  });
  return Status::Ok();
}

Result<const float*> CpuBackend::Weights(uint32_t chunk, int64_t version) const {
  if (version == live_version_) return static_cast<const float*>(Live(chunk));
  const VersionCopy* kept = kept_.Find(version);
  if (kept == nullptr)
    return Status::Internal(
        fmt::format("weight version {} is neither live ({}) nor kept", version, live_version_));
  return static_cast<const float*>((*kept)[chunk].data());
}

Result<const float*> CpuBackend::BackwardWeights(uint32_t chunk, int64_t version, int64_t correction) {
  Result<const float*> w = Weights(chunk, version);
  const Chunk& c = chunks_[chunk];
  if (!w.ok() || c.delta.empty() || correction <= 0) return w;
  // PipeMare discrepancy correction: estimate the weights the forward used.
  corrected_.resize(c.delta.size());
  pipemare_corrected_weights(corrected_.data(), *w, c.delta.data(), static_cast<float>(correction),
                             c.delta.size());
  return static_cast<const float*>(corrected_.data());
}

float CpuBackend::EstimateScale(StalenessKind kind, int64_t updates) const {
  if (s_.staleness.kind != kind || updates <= 0) return 0.0f;
  const float k = static_cast<float>(s_.staleness.param * static_cast<double>(updates));
  return kind == StalenessKind::kPredict ? -k : k;
}

Status CpuBackend::Forward(const MicroBatchSlot& slot, int64_t version, int64_t ahead, const int* tokens,
                           const int* targets) {
  if (!stream_) return ForwardNow(slot, version, ahead, tokens, targets);
  // The caller's batch buffers are reused before the stream runs the op: copy them.
  const size_t n = static_cast<size_t>(s_.B) * s_.model.block_size;
  std::vector<int> tok = tokens ? std::vector<int>(tokens, tokens + n) : std::vector<int>();
  std::vector<int> tgt = targets ? std::vector<int>(targets, targets + n) : std::vector<int>();
  return Run([this, slot, version, ahead, tok = std::move(tok), tgt = std::move(tgt)]() -> Status {
    return ForwardNow(slot, version, ahead, tok.empty() ? nullptr : tok.data(),
                      tgt.empty() ? nullptr : tgt.data());
  });
}

Status CpuBackend::ForwardNow(const MicroBatchSlot& slot, int64_t version, int64_t ahead, const int* tokens,
                              const int* targets) {
  const Chunk& c = chunks_[slot.chunk];
  StageInput in;
  in.tokens = tokens;
  in.targets = targets;
  Result<const float*> w = Weights(slot.chunk, version);
  if (!w.ok()) return w.status();
  // The output buffer first: opening an entry may move the table, not the buffers' data.
  std::vector<float>& out = messages_.Open({slot, true});
  if (!c.model.has_embedding()) {
    const std::vector<float>* acts = messages_.Find({slot, false});
    if (acts == nullptr) {
      messages_.Close({slot, true}, ClearMessage);
      return Status::Internal("no activation received for " + SlotText(slot));
    }
    in.acts = acts->data();
  }
  StageSaved& saved = saved_[slot.chunk].Open(slot);
  // Predict: the weights this micro-batch's backward will see, `ahead` updates on.
  const AdamWeightEstimate weights(c.model, *w, c.opt, last_lr_[slot.chunk],
                                   EstimateScale(StalenessKind::kPredict, ahead), /*forward=*/true,
                                   &estimate_);
  c.model.forward(weights, in, s_.B, s_.model.block_size, &saved, &out, &scratch_);
  messages_.Close({slot, false}, ClearMessage);
  if (activation_bytes_ == 0) activation_bytes_ = SavedBytes(saved);
  if (c.model.has_head()) {
    messages_.Close({slot, true}, ClearMessage);  // the loss only: nothing to send
    std::lock_guard l(mu_);
    losses_.push_back(saved.loss);
  }
  return Status::Ok();
}

Status CpuBackend::Backward(const MicroBatchSlot& slot, int64_t version, int64_t drift, float dloss,
                            bool with_weight) {
  return Run([this, slot, version, drift, dloss, with_weight]() -> Status {
    StageSaved* saved = saved_[slot.chunk].Find(slot);
    if (saved == nullptr) return Status::Internal("backward before forward of " + SlotText(slot));
    const StageModel& model = chunks_[slot.chunk].model;
    Result<const float*> w = BackwardWeights(slot.chunk, version, drift);
    if (!w.ok()) return w.status();
    // Rewind: the weights the forward saw, `drift` updates ago.
    const AdamWeightEstimate weights(model, *w, chunks_[slot.chunk].opt, last_lr_[slot.chunk],
                                     EstimateScale(StalenessKind::kRewind, drift), /*forward=*/false,
                                     &estimate_);
    std::vector<float>& dinp = messages_.Open({slot, true});
    const float* dout = &dloss;
    if (!model.has_head()) {
      const std::vector<float>* grad = messages_.Find({slot, false});
      if (grad == nullptr) {
        messages_.Close({slot, true}, ClearMessage);
        return Status::Internal("no gradient received for " + SlotText(slot));
      }
      dout = grad->data();
    }
    if (with_weight) {
      model.backward(weights, saved, dout, &dinp, Grads(slot.chunk), &scratch_);
    } else {
      model.backward_input(weights, saved, dout, &dinp, &scratch_);
    }
    messages_.Close({slot, false}, ClearMessage);
    if (model.has_embedding()) messages_.Close({slot, true}, ClearMessage);  // nothing to send
    if (with_weight) saved_[slot.chunk].Close(slot, ClearSaved);
    return Status::Ok();
  });
}

Status CpuBackend::BackwardWeight(const MicroBatchSlot& slot) {
  return Run([this, slot]() -> Status {
    StageSaved* saved = saved_[slot.chunk].Find(slot);
    if (saved == nullptr) return Status::Internal("weight gradient before backward of " + SlotText(slot));
    chunks_[slot.chunk].model.backward_weight(saved, Grads(slot.chunk));
    saved_[slot.chunk].Close(slot, ClearSaved);
    return Status::Ok();
  });
}

void CpuBackend::OptimizerStep(const std::vector<float>& lr, double stale) {
  if (!stream_) return StepNow(lr, stale);
  (void)Run([this, lr, stale]() -> Status {  // a copy: the caller's rates may change before it runs
    StepNow(lr, stale);
    return Status::Ok();
  });
}

void CpuBackend::StepNow(const std::vector<float>& lr, double stale) {
  const bool delay_comp = s_.staleness.kind == StalenessKind::kDelayComp && stale > 0;
  for (uint32_t c = 0; c < chunks_.size(); ++c) {
    Chunk& ch = chunks_[c];
    float* w = Live(c);
    const size_t n = ch.model.num_params();
    if (!ch.delta.empty()) before_.assign(w, w + n);
    if (delay_comp && ch.opt.step > 0)
      delay_compensate(Grads(c), w, AdamStepOf(ch.opt, 0, last_lr_[c]),
                       static_cast<float>(s_.staleness.param), static_cast<float>(stale), n);
    adamw_update(&ch.opt, w, Grads(c), lr[c]);
    last_lr_[c] = lr[c];
    zero_floats(Grads(c), n);
    if (!ch.delta.empty()) pipemare_update_delta(ch.delta.data(), w, before_.data(), s_.pipemare_gamma, n);
  }
  ++live_version_;
}

void CpuBackend::KeepVersion(int64_t version) {
  (void)Run([this, version]() -> Status {
    // A version kept twice (a resumed segment) is refreshed in place, as the map used to.
    VersionCopy* copy = kept_.Find(version);
    if (copy == nullptr) copy = &kept_.Open(version);
    copy->resize(chunks_.size());
    for (uint32_t c = 0; c < chunks_.size(); ++c)
      (*copy)[c].assign(Live(c), Live(c) + chunks_[c].model.num_params());
    return Status::Ok();
  });
}

void CpuBackend::DropVersion(int64_t version) {
  (void)Run([this, version]() -> Status {
    kept_.Close(version, [](VersionCopy& copy) {
      for (std::vector<float>& c : copy) c.clear();  // capacity kept for the next version
    });
    return Status::Ok();
  });
}

Status CpuBackend::Send(Transport& transport, uint32_t to_stage, const MessageKey& key,
                        const MicroBatchSlot& slot) {
  Synchronize();  // the producing op has run
  PACI_RETURN_IF_ERROR(TakeError());
  const std::vector<float>* out = messages_.Find({slot, true});
  if (out == nullptr) return Status::Internal("nothing to send for " + SlotText(slot));
  Status st = transport.Send(to_stage, key, *out);
  messages_.Close({slot, true}, ClearMessage);
  return st;
}

Status CpuBackend::Recv(Transport& transport, uint32_t from_stage, const MessageKey& key,
                        const MicroBatchSlot& slot, std::chrono::milliseconds timeout) {
  if (!stream_) {
    // Received straight into an idle buffer of the table; the transport hands over its own
    // buffer in exchange (thread_transport.h), so neither side allocates.
    std::vector<float>& in = messages_.Open({slot, false});
    Status st = transport.Recv(from_stage, key, &in, timeout);
    if (!st.ok()) messages_.Close({slot, false}, ClearMessage);
    return st;
  }
  std::vector<float> data;
  PACI_RETURN_IF_ERROR(transport.Recv(from_stage, key, &data, timeout));
  return Run([this, slot, data = std::move(data)]() mutable -> Status {
    messages_.Open({slot, false}).swap(data);
    return Status::Ok();
  });
}

void CpuBackend::ReadLosses(size_t first, size_t n, float* out) {
  std::lock_guard l(mu_);
  PACI_CHECK(first >= losses_first_ && first + n <= losses_first_ + losses_.size());
  const auto from = losses_.begin() + static_cast<ptrdiff_t>(first - losses_first_);
  std::copy(from, from + static_cast<ptrdiff_t>(n), out);
  // Losses are read once, in order: once all are read the buffer starts over (capacity kept).
  if (first + n == losses_first_ + losses_.size()) {
    losses_first_ += losses_.size();
    losses_.clear();
  }
}

uint64_t CpuBackend::BeginOp() {
  uint64_t id;
  {
    std::lock_guard l(mu_);
    timers_.emplace_back();
    id = first_timer_ + (timers_.size() - 1 - timer_head_);
  }
  const auto start = [this, id] {
    const int64_t now = Now();
    std::lock_guard l(mu_);
    TimerAt(id).times.start_ns = now;
  };
  if (stream_)
    stream_->Enqueue(start);
  else
    start();
  return id;
}

void CpuBackend::EndOp(uint64_t timer) {
  // The end time is taken before the memory bookkeeping, so op times are the op's alone.
  const auto finish = [this, timer] {
    const int64_t end = Now();
    const uint64_t live = LiveBytes();
    std::lock_guard l(mu_);
    Timer& t = TimerAt(timer);
    t.times.end_ns = end;
    t.times.live_bytes = live;
    t.done = true;
  };
  if (stream_)
    stream_->Enqueue(finish);
  else
    finish();
}

bool CpuBackend::OpTimesIfDone(uint64_t timer, bool wait, OpTimes* times) {
  if (wait) Synchronize();
  std::lock_guard l(mu_);
  if (!TimerAt(timer).done) return false;
  *times = TimerAt(timer).times;
  // Timers are read in issue order; drop the ones read.
  while (timer_head_ < timers_.size() && first_timer_ <= timer) {
    ++timer_head_;
    ++first_timer_;
  }
  if (timer_head_ == timers_.size()) {
    timers_.clear(), timer_head_ = 0;
  } else if (timer_head_ >= 64 && 2 * timer_head_ >= timers_.size()) {
    timers_.erase(timers_.begin(), timers_.begin() + static_cast<ptrdiff_t>(timer_head_));
    timer_head_ = 0;
  }
  return true;
}

void CpuBackend::Synchronize() {
  if (stream_) stream_->Synchronize();
}

uint64_t CpuBackend::LiveBytes() const {
  // What the stage holds for its ops now (sizes in use), as the simulator counts it; the plan's
  // idle records and buffers are not counted.
  uint64_t bytes = 0;
  kept_.ForEachUsed([&](const VersionCopy& copy) {
    for (const auto& c : copy) bytes += c.size() * sizeof(float);
  });
  for (const Chunk& c : chunks_)
    bytes += c.model.num_params() * sizeof(float) * (4 + (c.delta.empty() ? 0 : 1));
  bytes += estimate_.capacity() * sizeof(float);  // rewind / predict: one layer, held for the run
  for (const auto& t : saved_) t.ForEachUsed([&](const StageSaved& s) { bytes += SavedBytes(s); });
  messages_.ForEachUsed([&](const std::vector<float>& v) { bytes += v.size() * sizeof(float); });
  return bytes;
}

uint64_t CpuBackend::ActivationBytes() const { return activation_bytes_; }

void CpuBackend::ExportChunk(uint32_t chunk, ChunkState* out) const {
  const Chunk& c = chunks_[chunk];
  out->weights.assign(Live(chunk), Live(chunk) + c.model.num_params());
  out->m = c.opt.m;
  out->v = c.opt.v;
  out->step = c.opt.step;
}

void CpuBackend::ImportChunk(uint32_t chunk, const ChunkState& in) {
  Chunk& c = chunks_[chunk];
  PACI_CHECK(in.weights.size() == c.model.num_params() && in.m.size() == c.opt.m.size());
  std::copy(in.weights.begin(), in.weights.end(), Live(chunk));
  c.opt.m = in.m;
  c.opt.v = in.v;
  c.opt.step = in.step;
}

}  // namespace paci::exec
