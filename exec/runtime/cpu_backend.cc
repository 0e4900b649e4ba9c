#include "exec/runtime/cpu_backend.h"

#include <algorithm>

#include <fmt/format.h>

#include "exec/model/adamw.h"
#include "exec/runtime/pipemare.h"

namespace paci::exec {

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

namespace {
std::string SlotText(const MicroBatchSlot& s) {
  return s.chunk > 0 ? fmt::format("micro-batch {} chunk {}", s.micro_batch, s.chunk)
                     : fmt::format("micro-batch {}", s.micro_batch);
}
}  // namespace

Result<std::unique_ptr<CpuBackend>> CpuBackend::Create(const CpuBackendSetup& setup) {
  std::unique_ptr<CpuBackend> b(new CpuBackend(setup));
  for (const LayerRange& r : setup.chunks) {
    Result<StageModel> model = StageModel::Create(setup.model, r.first, r.last);
    if (!model.ok()) return model.status();
    Chunk chunk{std::move(*model), {}, {}};
    chunk.opt = adamw_create(setup.adamw, chunk.model.layout(), chunk.model.param_offset(), chunk.model.num_params());
    if (setup.pipemare_delta) chunk.delta.assign(chunk.model.num_params(), 0.0f);
    b->chunks_.push_back(std::move(chunk));
  }
  if (setup.async) b->stream_ = std::make_unique<CpuStream>();
  return b;
}

CpuBackend::~CpuBackend() {
  if (stream_) stream_->Synchronize();
}

int64_t CpuBackend::Now() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - s_.origin).count();
}

Status CpuBackend::TakeError() {
  std::lock_guard l(mu_);
  return error_ ? *error_ : Status::Ok();
}

Status CpuBackend::Run(std::function<Status()> work) {
  if (!stream_) return work();
  PACI_RETURN_IF_ERROR(TakeError());
  stream_->Enqueue([this, work = std::move(work)] {
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
  auto it = kept_.find(version);
  if (it == kept_.end())
    return Status::Internal(fmt::format("weight version {} is neither live ({}) nor kept", version, live_version_));
  return static_cast<const float*>(it->second[chunk].data());
}

Result<const float*> CpuBackend::BackwardWeights(uint32_t chunk, int64_t version, int64_t correction) {
  Result<const float*> w = Weights(chunk, version);
  const Chunk& c = chunks_[chunk];
  if (!w.ok() || c.delta.empty() || correction <= 0) return w;
  // PipeMare discrepancy correction: estimate the weights the forward used.
  corrected_.resize(c.delta.size());
  pipemare_corrected_weights(corrected_.data(), *w, c.delta.data(), static_cast<float>(correction), c.delta.size());
  return static_cast<const float*>(corrected_.data());
}

Status CpuBackend::Forward(const MicroBatchSlot& slot, int64_t version, const int* tokens, const int* targets) {
  const size_t n = static_cast<size_t>(s_.B) * s_.model.block_size;
  std::vector<int> tok = tokens ? std::vector<int>(tokens, tokens + n) : std::vector<int>();
  std::vector<int> tgt = targets ? std::vector<int>(targets, targets + n) : std::vector<int>();
  return Run([this, slot, version, tok = std::move(tok), tgt = std::move(tgt)]() -> Status {
    const Chunk& c = chunks_[slot.chunk];
    StageInput in;
    if (!tok.empty()) in.tokens = tok.data();
    if (!tgt.empty()) in.targets = tgt.data();
    if (!c.model.has_embedding()) {
      auto it = inbox_.find(slot);
      if (it == inbox_.end()) return Status::Internal("no activation received for " + SlotText(slot));
      in.acts = it->second.data();
    }
    Result<const float*> w = Weights(slot.chunk, version);
    if (!w.ok()) return w.status();
    StageSaved& saved = saved_[slot];
    std::vector<float> out;
    c.model.forward(*w, in, s_.B, s_.model.block_size, &saved, &out);
    inbox_.erase(slot);
    if (activation_bytes_ == 0) activation_bytes_ = SavedBytes(saved);
    if (c.model.has_head()) {
      std::lock_guard l(mu_);
      losses_.push_back(saved.loss);
    } else {
      outbox_[slot] = std::move(out);
    }
    return Status::Ok();
  });
}

Status CpuBackend::Backward(const MicroBatchSlot& slot, int64_t version, int64_t correction, float dloss,
                            bool with_weight) {
  return Run([this, slot, version, correction, dloss, with_weight]() -> Status {
    auto saved = saved_.find(slot);
    if (saved == saved_.end()) return Status::Internal("backward before forward of " + SlotText(slot));
    const StageModel& model = chunks_[slot.chunk].model;
    const float* dout = &dloss;
    if (!model.has_head()) {
      auto it = inbox_.find(slot);
      if (it == inbox_.end()) return Status::Internal("no gradient received for " + SlotText(slot));
      dout = it->second.data();
    }
    Result<const float*> w = BackwardWeights(slot.chunk, version, correction);
    if (!w.ok()) return w.status();
    std::vector<float> dinp;
    if (with_weight) {
      model.backward(*w, &saved->second, dout, &dinp, Grads(slot.chunk));
    } else {
      model.backward_input(*w, &saved->second, dout, &dinp);
    }
    inbox_.erase(slot);
    if (!model.has_embedding()) outbox_[slot] = std::move(dinp);
    if (with_weight) saved_.erase(saved);
    return Status::Ok();
  });
}

Status CpuBackend::BackwardWeight(const MicroBatchSlot& slot) {
  return Run([this, slot]() -> Status {
    auto saved = saved_.find(slot);
    if (saved == saved_.end()) return Status::Internal("weight gradient before backward of " + SlotText(slot));
    chunks_[slot.chunk].model.backward_weight(&saved->second, Grads(slot.chunk));
    saved_.erase(saved);
    return Status::Ok();
  });
}

void CpuBackend::OptimizerStep(const std::vector<float>& lr) {
  (void)Run([this, lr]() -> Status {
    for (uint32_t c = 0; c < chunks_.size(); ++c) {
      Chunk& ch = chunks_[c];
      float* w = Live(c);
      const size_t n = ch.model.num_params();
      std::vector<float> before;
      if (!ch.delta.empty()) before.assign(w, w + n);
      adamw_update(&ch.opt, w, Grads(c), lr[c]);
      zero_floats(Grads(c), n);
      if (!ch.delta.empty()) pipemare_update_delta(ch.delta.data(), w, before.data(), s_.pipemare_gamma, n);
    }
    ++live_version_;
    return Status::Ok();
  });
}

void CpuBackend::KeepVersion(int64_t version) {
  (void)Run([this, version]() -> Status {
    std::vector<std::vector<float>>& copy = kept_[version];
    copy.clear();
    for (uint32_t c = 0; c < chunks_.size(); ++c) copy.emplace_back(Live(c), Live(c) + chunks_[c].model.num_params());
    return Status::Ok();
  });
}

void CpuBackend::DropVersion(int64_t version) {
  (void)Run([this, version]() -> Status {
    kept_.erase(version);
    return Status::Ok();
  });
}

Status CpuBackend::Send(Transport& transport, uint32_t to_stage, const MessageKey& key, const MicroBatchSlot& slot) {
  Synchronize();  // the producing op has run
  PACI_RETURN_IF_ERROR(TakeError());
  auto it = outbox_.find(slot);
  if (it == outbox_.end()) return Status::Internal("nothing to send for " + SlotText(slot));
  Status st = transport.Send(to_stage, key, it->second);
  outbox_.erase(it);
  return st;
}

Status CpuBackend::Recv(Transport& transport, uint32_t from_stage, const MessageKey& key, const MicroBatchSlot& slot,
                        std::chrono::milliseconds timeout) {
  std::vector<float> data;
  PACI_RETURN_IF_ERROR(transport.Recv(from_stage, key, &data, timeout));
  return Run([this, slot, data = std::move(data)]() mutable -> Status {
    inbox_[slot] = std::move(data);
    return Status::Ok();
  });
}

void CpuBackend::ReadLosses(size_t first, size_t n, float* out) {
  std::lock_guard l(mu_);
  PACI_CHECK(first + n <= losses_.size());
  std::copy(losses_.begin() + static_cast<ptrdiff_t>(first), losses_.begin() + static_cast<ptrdiff_t>(first + n), out);
}

uint64_t CpuBackend::BeginOp() {
  uint64_t id;
  {
    std::lock_guard l(mu_);
    timers_.emplace_back();
    id = first_timer_ + timers_.size() - 1;
  }
  const auto start = [this, id] {
    const int64_t now = Now();
    std::lock_guard l(mu_);
    TimerAt(id).times.start_ns = now;
  };
  if (stream_) stream_->Enqueue(start);
  else start();
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
  if (stream_) stream_->Enqueue(finish);
  else finish();
}

bool CpuBackend::OpTimesIfDone(uint64_t timer, bool wait, OpTimes* times) {
  if (wait) Synchronize();
  std::lock_guard l(mu_);
  if (!TimerAt(timer).done) return false;
  *times = TimerAt(timer).times;
  // Timers are read in issue order; drop the ones read.
  while (!timers_.empty() && first_timer_ <= timer) {
    timers_.pop_front();
    ++first_timer_;
  }
  return true;
}

void CpuBackend::Synchronize() {
  if (stream_) stream_->Synchronize();
}

uint64_t CpuBackend::LiveBytes() const {
  uint64_t bytes = 0;
  for (const auto& [v, copy] : kept_)
    for (const auto& c : copy) bytes += c.size() * sizeof(float);
  for (const Chunk& c : chunks_) bytes += c.model.num_params() * sizeof(float) * (4 + (c.delta.empty() ? 0 : 1));
  for (const auto& [k, s] : saved_) bytes += SavedBytes(s);
  for (const auto& [k, v] : inbox_) bytes += v.capacity() * sizeof(float);
  for (const auto& [k, v] : outbox_) bytes += v.capacity() * sizeof(float);
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
