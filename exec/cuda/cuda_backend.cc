#include "exec/cuda/cuda_backend.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "exec/cuda/elementwise.cuh"
#include "exec/cuda/pipemare.cuh"
#include "sched/staleness.h"

namespace paci::exec {
namespace {

constexpr size_t kLossBlock = 4096;  // losses per pinned block
constexpr int kIdsSlots = 4;         // forwards whose token ids may be in flight at once
// With device-to-device messages nothing blocks the host, which could issue arbitrarily far ahead
// of the GPU (each op in flight holds memory): at most this many ops are left unfinished.
constexpr size_t kIssueWindow = 256;
constexpr int kRecvStagingSlots = 4;  // host-staged receives whose upload may be in flight at once

std::string SlotText(const MicroBatchSlot& s) {
  return s.chunk > 0 ? fmt::format("micro-batch {} chunk {}", s.micro_batch, s.chunk)
                     : fmt::format("micro-batch {}", s.micro_batch);
}

void CopyD2D(void* dst, const void* src, size_t bytes, cudaStream_t stream) {
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream));
}

}  // namespace

Result<std::unique_ptr<CudaBackend>> CudaBackend::Create(const CudaBackendSetup& setup) {
  const CudaDeviceProbe probe = cuda_probe_devices();
  if (probe.count == 0) return Status::FailedPrecondition("--device cuda: " + probe.message);
  const CudaErrorScope scope;  // a failing CUDA call below throws CudaError: returned as a Status
  try {
    return CreateImpl(setup);
  } catch (const CudaError& e) {
    return Status::Internal(fmt::format("CUDA backend set-up: {}", e.what()));
  }
}

Result<std::unique_ptr<CudaBackend>> CudaBackend::CreateImpl(const CudaBackendSetup& setup) {
  CUDA_CHECK(cudaSetDevice(setup.device));
  std::unique_ptr<CudaBackend> b(new CudaBackend());
  const DeviceMemoryScope counted(&b->memory_);
  b->s_ = setup;
  b->ctx_ = cuda_context_create();
  const ParamLayout layout = gpt_param_layout(setup.model);
  for (const LayerRange& r : setup.chunks) {
    Result<StageModelCuda> model = StageModelCuda::Create(setup.model, r.first, r.last, setup.precision);
    if (!model.ok()) return model.status();
    Chunk c;
    c.model = std::move(*model);
    c.n = c.model.cpu().num_params();
    c.opt = adamw_cuda_create(setup.adamw, layout, c.model.cpu().param_offset(), c.n, b->ctx_.stream);
    // Every fill and upload is ordered on the stage's stream: a plain cudaMemset or cudaMemcpy runs
    // on the legacy default stream, which a non-blocking stream does not wait for, so the first
    // kernels could read the buffers before they are filled.
    c.grads.reserve(c.n * sizeof(float));
    CUDA_CHECK(cudaMemsetAsync(c.grads.get(), 0, c.n * sizeof(float), b->ctx_.stream));
    if (setup.pipemare_delta) {
      c.delta.reserve(c.n * sizeof(float));
      c.before.reserve(c.n * sizeof(float));
      CUDA_CHECK(cudaMemsetAsync(c.delta.get(), 0, c.n * sizeof(float), b->ctx_.stream));
    }
    b->UploadWeights(c, setup.init_params + c.model.cpu().param_offset());  // waits for the stream
    b->chunks_.push_back(std::move(c));
  }
  const size_t ids = static_cast<size_t>(setup.B) * setup.model.block_size;
  b->spare_saved_.Resize(b->chunks_.size());
  b->recv_staging_.resize(kRecvStagingSlots);  // pinned buffers allocated at the first receive
  b->ids_.resize(kIdsSlots);
  for (IdsSlot& slot : b->ids_) {
    CUDA_CHECK(cudaMallocHost(&slot.host, 2 * ids * sizeof(int)));
    slot.dev.reserve(2 * ids * sizeof(int));
    CUDA_CHECK(cudaEventCreateWithFlags(&slot.read, cudaEventDisableTiming));
    CUDA_CHECK(cudaEventRecord(slot.read, b->ctx_.stream));
  }
  // The clock: device times are offsets from origin_, recorded once the host reaches this point.
  b->origin_ = b->NewEvent();
  CUDA_CHECK(cudaEventRecord(b->origin_, b->ctx_.stream));
  CUDA_CHECK(cudaEventSynchronize(b->origin_));
  b->origin_ns_ =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - setup.origin)
          .count();
  return b;
}

// Teardown never exits, even after a failure (every call then returns the sticky error).
CudaBackend::~CudaBackend() {
  (void)cudaStreamSynchronize(ctx_.stream);
  for (cudaEvent_t e : all_events_) cudaEventDestroy(e);
  for (auto& m : messages_) cudaEventDestroy(m->freed);
  for (IdsSlot& s : ids_) {
    cudaFreeHost(s.host);
    cudaEventDestroy(s.read);
  }
  for (float* b : loss_blocks_) cudaFreeHost(b);
  for (RecvStaging& r : recv_staging_) {
    cudaFreeHost(r.host);
    cudaEventDestroy(r.copied);
  }
  cuda_context_destroy(&ctx_);
}

// Stream-ordered (see Create), and it waits for the stream before returning: `host` is pageable
// and the caller's, so it must outlive the copy, and a pageable cudaMemcpyAsync may return before
// its DMA has landed.
void CudaBackend::UploadWeights(Chunk& c, const float* host) {
  c.live.master.reserve(c.n * sizeof(float));
  CUDA_CHECK(
      cudaMemcpyAsync(c.live.master.get(), host, c.n * sizeof(float), cudaMemcpyHostToDevice, ctx_.stream));
  if (s_.precision == ir::PRECISION_BF16) {
    c.live.bf16.reserve(c.n * sizeof(__nv_bfloat16));
    convert_cuda<__nv_bfloat16, float>(c.live.bf16.as<__nv_bfloat16>(), c.live.master.as<float>(), c.n,
                                       ctx_.stream);
  }
  CUDA_CHECK(cudaStreamSynchronize(ctx_.stream));
}

size_t CudaBackend::MessageBytes() const { return chunks_[0].model.message_bytes(s_.B, s_.model.block_size); }

cudaEvent_t CudaBackend::NewEvent() {
  if (!spare_events_.empty()) {
    cudaEvent_t e = spare_events_.back();
    spare_events_.pop_back();
    return e;
  }
  cudaEvent_t e;
  CUDA_CHECK(cudaEventCreate(&e));
  all_events_.push_back(e);
  return e;
}

int64_t CudaBackend::EventNs(cudaEvent_t e) const {
  float ms = 0.0f;
  CUDA_CHECK(cudaEventElapsedTime(&ms, origin_, e));
  return origin_ns_ + static_cast<int64_t>(static_cast<double>(ms) * 1e6);
}

// `idle_only`: a buffer whose last use has completed, or a new one. Otherwise a free buffer may be
// reused once this stream waits for its last reader (which may be another stream).
CudaBackend::Message* CudaBackend::AcquireMessage(bool idle_only) {
  for (size_t i = 0; i < free_messages_.size(); ++i) {
    Message* m = free_messages_[i];
    if (cudaEventQuery(m->freed) == cudaSuccess) {
      free_messages_.erase(free_messages_.begin() + static_cast<ptrdiff_t>(i));
      return m;
    }
  }
  (void)cudaGetLastError();  // cudaEventQuery's "not ready" is not an error
  if (!idle_only && !free_messages_.empty()) {
    Message* m = free_messages_.back();
    free_messages_.pop_back();
    CUDA_CHECK(cudaStreamWaitEvent(ctx_.stream, m->freed, 0));
    return m;
  }
  messages_.push_back(std::make_unique<Message>());
  Message* m = messages_.back().get();
  m->buf.reserve(MessageBytes());
  CUDA_CHECK(cudaEventCreateWithFlags(&m->freed, cudaEventDisableTiming));
  return m;
}

void CudaBackend::RetireSends() {
  free_messages_.insert(free_messages_.end(), sending_.begin(), sending_.end());
  sending_.clear();
}

void CudaBackend::ReleaseMessage(Message* m) {
  CUDA_CHECK(cudaEventRecord(m->freed, ctx_.stream));
  free_messages_.push_back(m);
}

Result<StageWeightsCuda> CudaBackend::WeightsAt(uint32_t chunk, int64_t version) const {
  const Weights* w = nullptr;
  if (version == live_version_) {
    w = &chunks_[chunk].live;
  } else {
    auto it = kept_.find(version);
    if (it == kept_.end())
      return Status::Internal(
          fmt::format("weight version {} is neither live ({}) nor kept", version, live_version_));
    w = &it->second[chunk];
  }
  return StageWeightsCuda{w->master.as<float>(), w->bf16.as<__nv_bfloat16>()};
}

Status CudaBackend::ForwardImpl(const MicroBatchSlot& slot, int64_t version, const int* tokens,
                                const int* targets) {
  const DeviceMemoryScope counted(&memory_);
  RetireSends();
  Chunk& c = chunks_[slot.chunk];
  StageInputCuda in;
  if (tokens || targets) {
    // Batches come from the worker's sampler in micro-batch order (it checks the order), so the
    // ids are those of this op's micro-batch. The forward copies them into its record.
    IdsSlot& ids = ids_[next_ids_++ % ids_.size()];
    CUDA_CHECK(cudaEventSynchronize(ids.read));
    const size_t n = static_cast<size_t>(s_.B) * s_.model.block_size;
    if (tokens) std::copy(tokens, tokens + n, ids.host);
    if (targets) std::copy(targets, targets + n, ids.host + n);
    CUDA_CHECK(
        cudaMemcpyAsync(ids.dev.get(), ids.host, 2 * n * sizeof(int), cudaMemcpyHostToDevice, ctx_.stream));
    if (tokens) in.tokens = ids.dev.as<int>();
    if (targets) in.targets = ids.dev.as<int>() + n;
  }
  Message* input = nullptr;
  if (!c.model.cpu().has_embedding()) {
    auto it = inbox_.find(slot);
    if (it == inbox_.end()) return Status::Internal("no activation received for " + SlotText(slot));
    input = it->second;
    inbox_.erase(it);
    in.acts = input->buf.get();
  }
  Result<StageWeightsCuda> w = WeightsAt(slot.chunk, version);
  if (!w.ok()) return w.status();
  // A record sized by this chunk before (never another chunk's: see record_pool.h).
  std::unique_ptr<StageSavedCuda>& rec = saved_[slot];
  rec = spare_saved_.Take(slot.chunk);
  Message* out = c.model.cpu().has_head() ? nullptr : AcquireMessage(false);
  c.model.forward(ctx_, *w, in, s_.B, s_.model.block_size, rec.get(), out ? out->buf.get() : nullptr);
  if (tokens || targets) CUDA_CHECK(cudaEventRecord(ids_[(next_ids_ - 1) % ids_.size()].read, ctx_.stream));
  if (input) ReleaseMessage(input);
  if (out) outbox_[slot] = out;
  if (activation_bytes_ == 0) activation_bytes_ = rec->bytes();
  if (c.model.cpu().has_head()) {
    if (losses_issued_ % kLossBlock == 0) {
      float* block;
      CUDA_CHECK(cudaMallocHost(&block, kLossBlock * sizeof(float)));
      loss_blocks_.push_back(block);
    }
    float* dst = loss_blocks_[losses_issued_ / kLossBlock] + losses_issued_ % kLossBlock;
    CUDA_CHECK(cudaMemcpyAsync(dst, rec->loss.get(), sizeof(float), cudaMemcpyDeviceToHost, ctx_.stream));
    ++losses_issued_;
  }
  return Status::Ok();
}

Status CudaBackend::BackwardImpl(const MicroBatchSlot& slot, int64_t version, int64_t correction, float dloss,
                                 bool with_weight) {
  const DeviceMemoryScope counted(&memory_);
  RetireSends();
  auto rec = saved_.find(slot);
  if (rec == saved_.end()) return Status::Internal("backward before forward of " + SlotText(slot));
  Chunk& c = chunks_[slot.chunk];
  Message* input = nullptr;
  if (!c.model.cpu().has_head()) {
    auto it = inbox_.find(slot);
    if (it == inbox_.end()) return Status::Internal("no gradient received for " + SlotText(slot));
    input = it->second;
    inbox_.erase(it);
  }
  Result<StageWeightsCuda> w = WeightsAt(slot.chunk, version);
  if (!w.ok()) return w.status();
  if (correction > 0 && c.delta.bytes() > 0) {
    // PipeMare: estimate the weights the forward used, w - drift * delta.
    corrected_.master.reserve(c.n * sizeof(float));
    pipemare_corrected_weights_cuda(corrected_.master.as<float>(), w->master, c.delta.as<float>(),
                                    static_cast<float>(correction), c.n, ctx_.stream);
    if (s_.precision == ir::PRECISION_BF16) {
      corrected_.bf16.reserve(c.n * sizeof(__nv_bfloat16));
      convert_cuda<__nv_bfloat16, float>(corrected_.bf16.as<__nv_bfloat16>(), corrected_.master.as<float>(),
                                         c.n, ctx_.stream);
    }
    *w = StageWeightsCuda{corrected_.master.as<float>(), corrected_.bf16.as<__nv_bfloat16>()};
  }
  Message* out = c.model.cpu().has_embedding() ? nullptr : AcquireMessage(false);
  const void* dout = input ? input->buf.get() : nullptr;
  void* dinp = out ? out->buf.get() : nullptr;
  if (with_weight) {
    c.model.backward(ctx_, *w, rec->second.get(), dout, dloss, dinp, c.grads.as<float>());
    spare_saved_.Give(slot.chunk, std::move(rec->second));  // reused on this stream, in order
    saved_.erase(rec);
  } else {
    c.model.backward_input(ctx_, *w, rec->second.get(), dout, dloss, dinp);
  }
  if (input) ReleaseMessage(input);
  if (out) outbox_[slot] = out;
  return Status::Ok();
}

Status CudaBackend::BackwardWeightImpl(const MicroBatchSlot& slot) {
  const DeviceMemoryScope counted(&memory_);
  RetireSends();
  auto rec = saved_.find(slot);
  if (rec == saved_.end()) return Status::Internal("weight gradient before backward of " + SlotText(slot));
  Chunk& c = chunks_[slot.chunk];
  c.model.backward_weight(ctx_, rec->second.get(), c.grads.as<float>());
  spare_saved_.Give(slot.chunk, std::move(rec->second));
  saved_.erase(rec);
  return Status::Ok();
}

void CudaBackend::OptimizerStepImpl(const std::vector<float>& lr) {
  const DeviceMemoryScope counted(&memory_);
  RetireSends();
  for (uint32_t i = 0; i < chunks_.size(); ++i) {
    Chunk& c = chunks_[i];
    float* w = c.live.master.as<float>();
    if (c.delta.bytes() > 0) CopyD2D(c.before.get(), w, c.n * sizeof(float), ctx_.stream);
    adamw_cuda_update(&c.opt, w, c.grads.as<float>(), lr[i], c.live.bf16.as<__nv_bfloat16>(), ctx_.stream);
    CUDA_CHECK(cudaMemsetAsync(c.grads.get(), 0, c.n * sizeof(float), ctx_.stream));
    if (c.delta.bytes() > 0)
      pipemare_update_delta_cuda(c.delta.as<float>(), w, c.before.as<float>(), s_.pipemare_gamma, c.n,
                                 ctx_.stream);
  }
  ++live_version_;
}

void CudaBackend::KeepVersionImpl(int64_t version) {
  const DeviceMemoryScope counted(&memory_);
  std::vector<Weights>& copy = kept_[version];
  copy.resize(chunks_.size());
  for (uint32_t i = 0; i < chunks_.size(); ++i) {
    const Chunk& c = chunks_[i];
    if (copy[i].master.bytes() == 0 && !spare_weights_.empty()) {
      copy[i] = std::move(spare_weights_.back());
      spare_weights_.pop_back();
    }
    copy[i].master.reserve(c.n * sizeof(float));
    CopyD2D(copy[i].master.get(), c.live.master.get(), c.n * sizeof(float), ctx_.stream);
    if (s_.precision == ir::PRECISION_BF16) {
      copy[i].bf16.reserve(c.n * sizeof(__nv_bfloat16));
      CopyD2D(copy[i].bf16.get(), c.live.bf16.get(), c.n * sizeof(__nv_bfloat16), ctx_.stream);
    }
  }
}

void CudaBackend::DropVersion(int64_t version) {
  auto it = kept_.find(version);
  if (it == kept_.end()) return;
  for (Weights& w : it->second) spare_weights_.push_back(std::move(w));  // same stream: reuse is ordered
  kept_.erase(it);
}

Status CudaBackend::SendImpl(Transport& transport, uint32_t to_stage, const MessageKey& key,
                             const MicroBatchSlot& slot) {
  const DeviceMemoryScope counted(&memory_);
  auto it = outbox_.find(slot);
  if (it == outbox_.end()) return Status::Internal("nothing to send for " + SlotText(slot));
  Message* m = it->second;
  outbox_.erase(it);
  if (transport.moves_device_buffers()) {
    PACI_RETURN_IF_ERROR(
        transport.SendDevice(to_stage, key, m->buf.get(), MessageBytes(), ctx_.stream, m->freed));
    sending_.push_back(m);  // reusable once `freed` (recorded after the send is posted) has passed
    return Status::Ok();
  }
  // Host staging: floats carry the bytes (two bf16 values per float). The transport copies the
  // payload, so one buffer serves every send.
  std::vector<float>& host = send_host_;
  host.resize((MessageBytes() + sizeof(float) - 1) / sizeof(float));
  CUDA_CHECK(cudaMemcpyAsync(host.data(), m->buf.get(), MessageBytes(), cudaMemcpyDeviceToHost, ctx_.stream));
  CUDA_CHECK(cudaStreamSynchronize(ctx_.stream));
  ReleaseMessage(m);
  return transport.Send(to_stage, key, host);
}

Status CudaBackend::RecvImpl(Transport& transport, uint32_t from_stage, const MessageKey& key,
                             const MicroBatchSlot& slot, std::chrono::milliseconds timeout) {
  const DeviceMemoryScope counted(&memory_);
  // Only idle buffers: a receive must never wait on this stream's later work, nor (NCCL) on a
  // peer process, or the two could close a cycle.
  Message* m = AcquireMessage(true);
  if (transport.moves_device_buffers()) {
    PACI_RETURN_IF_ERROR(
        transport.RecvDevice(from_stage, key, m->buf.get(), MessageBytes(), ctx_.stream, nullptr));
  } else {
    // The in-process transport swaps its buffer with this one, so the buffers circulate and the
    // steady state allocates nothing (issue 24), as on the CPU backend.
    std::vector<float>& host = recv_host_;
    Status st = transport.Recv(from_stage, key, &host, timeout);
    if (!st.ok()) {
      free_messages_.push_back(m);
      return st;
    }
    if (host.size() * sizeof(float) < MessageBytes()) {
      free_messages_.push_back(m);
      return Status::Internal(fmt::format("message for {} has {} bytes, expected {}", SlotText(slot),
                                          host.size() * sizeof(float), MessageBytes()));
    }
    // Through a pinned slot, stream-ordered: the forward or backward that reads `m` runs on this
    // stream, and `host` is overwritten by the next receive. The slot is reused only once its copy
    // has passed.
    RecvStaging& r = recv_staging_[next_recv_staging_++ % recv_staging_.size()];
    if (r.host == nullptr) {
      CUDA_CHECK(cudaMallocHost(&r.host, MessageBytes()));
      CUDA_CHECK(cudaEventCreateWithFlags(&r.copied, cudaEventDisableTiming));
    } else {
      CUDA_CHECK(cudaEventSynchronize(r.copied));
    }
    std::memcpy(r.host, host.data(), MessageBytes());
    CUDA_CHECK(cudaMemcpyAsync(m->buf.get(), r.host, MessageBytes(), cudaMemcpyHostToDevice, ctx_.stream));
    CUDA_CHECK(cudaEventRecord(r.copied, ctx_.stream));
  }
  inbox_[slot] = m;
  return Status::Ok();
}

void CudaBackend::ReadLosses(size_t first, size_t n, float* out) {
  PACI_CHECK(first + n <= losses_issued_);
  for (size_t i = 0; i < n; ++i) out[i] = loss_blocks_[(first + i) / kLossBlock][(first + i) % kLossBlock];
}

uint64_t CudaBackend::BeginOpImpl() {
  timers_.push_back({});
  timers_.back().start = NewEvent();
  CUDA_CHECK(cudaEventRecord(timers_.back().start, ctx_.stream));
  return first_timer_ + timers_.size() - 1;
}

void CudaBackend::EndOpImpl(uint64_t timer) {
  Timer& t = timers_[timer - first_timer_];
  t.end = NewEvent();
  CUDA_CHECK(cudaEventRecord(t.end, ctx_.stream));
  t.live_bytes = LiveBytes();
  if (timer >= kIssueWindow && timer - kIssueWindow >= first_timer_)
    CUDA_CHECK(cudaEventSynchronize(timers_[timer - kIssueWindow - first_timer_].end));
}

bool CudaBackend::OpTimesIfDoneImpl(uint64_t timer, bool wait, OpTimes* times) {
  Timer& t = timers_[timer - first_timer_];
  if (wait) {
    CUDA_CHECK(cudaEventSynchronize(t.end));
  } else if (cudaEventQuery(t.end) != cudaSuccess) {
    (void)cudaGetLastError();
    return false;
  }
  times->start_ns = EventNs(t.start);
  times->end_ns = EventNs(t.end);
  times->live_bytes = t.live_bytes;
  while (!timers_.empty() && first_timer_ <= timer) {  // read in issue order; recycle the events
    spare_events_.push_back(timers_.front().start);
    spare_events_.push_back(timers_.front().end);
    timers_.pop_front();
    ++first_timer_;
  }
  return true;
}

void CudaBackend::ExportChunkImpl(uint32_t chunk, ChunkState* out) const {
  const Chunk& c = chunks_[chunk];
  out->weights.resize(c.n);
  out->m.resize(c.n);
  out->v.resize(c.n);
  // On the stage's stream, after everything issued before (a legacy-stream copy would not wait for
  // it), then wait: the host vectors are read as soon as this returns.
  const size_t bytes = c.n * sizeof(float);
  CUDA_CHECK(
      cudaMemcpyAsync(out->weights.data(), c.live.master.get(), bytes, cudaMemcpyDeviceToHost, ctx_.stream));
  CUDA_CHECK(cudaMemcpyAsync(out->m.data(), c.opt.m.get(), bytes, cudaMemcpyDeviceToHost, ctx_.stream));
  CUDA_CHECK(cudaMemcpyAsync(out->v.data(), c.opt.v.get(), bytes, cudaMemcpyDeviceToHost, ctx_.stream));
  CUDA_CHECK(cudaStreamSynchronize(ctx_.stream));
  out->step = c.opt.step;
}

void CudaBackend::ImportChunkImpl(uint32_t chunk, const ChunkState& in) {
  const DeviceMemoryScope counted(&memory_);
  Chunk& c = chunks_[chunk];
  PACI_CHECK(in.weights.size() == c.n && in.m.size() == c.n && in.v.size() == c.n);
  // Stream-ordered like every upload; UploadWeights waits for the stream, so `in` may go once this
  // returns.
  CUDA_CHECK(
      cudaMemcpyAsync(c.opt.m.get(), in.m.data(), c.n * sizeof(float), cudaMemcpyHostToDevice, ctx_.stream));
  CUDA_CHECK(
      cudaMemcpyAsync(c.opt.v.get(), in.v.data(), c.n * sizeof(float), cudaMemcpyHostToDevice, ctx_.stream));
  UploadWeights(c, in.weights.data());
  c.opt.step = in.step;
}

// The StageBackend methods: each runs its Impl inside a CudaErrorScope, so a failing CUDA, cuBLAS
// or NCCL call throws CudaError instead of exiting; Guard turns it into this backend's sticky
// failure. Methods with a Status return it; the others leave it for Failure(), which the stage
// worker checks after every op. Once failed, every method returns at once without touching the
// device (its later calls would only report the same sticky error).
template <typename F>
Status CudaBackend::Guard(const char* method, F&& f) const {
  if (!failed_.ok()) return failed_;
  const CudaErrorScope scope;
  try {
    return f();
  } catch (const CudaError& e) {
    failed_ = Status::Internal(fmt::format("CUDA backend {}: {}", method, e.what()));
    return failed_;
  }
}

Status CudaBackend::Forward(const MicroBatchSlot& slot, int64_t version, int64_t /*ahead*/, const int* tokens,
                            const int* targets) {
  return Guard("Forward", [&] { return ForwardImpl(slot, version, tokens, targets); });
}
Status CudaBackend::Backward(const MicroBatchSlot& slot, int64_t version, int64_t correction, float dloss,
                             bool with_weight) {
  return Guard("Backward", [&] { return BackwardImpl(slot, version, correction, dloss, with_weight); });
}
Status CudaBackend::BackwardWeight(const MicroBatchSlot& slot) {
  return Guard("BackwardWeight", [&] { return BackwardWeightImpl(slot); });
}
void CudaBackend::OptimizerStep(const std::vector<float>& lr, double /*stale*/) {
  (void)Guard("OptimizerStep", [&] {
    OptimizerStepImpl(lr);
    return Status::Ok();
  });
}
void CudaBackend::KeepVersion(int64_t version) {
  (void)Guard("KeepVersion", [&] {
    KeepVersionImpl(version);
    return Status::Ok();
  });
}
Status CudaBackend::Send(Transport& transport, uint32_t to_stage, const MessageKey& key,
                         const MicroBatchSlot& slot) {
  return Guard("Send", [&] { return SendImpl(transport, to_stage, key, slot); });
}
Status CudaBackend::Recv(Transport& transport, uint32_t from_stage, const MessageKey& key,
                         const MicroBatchSlot& slot, std::chrono::milliseconds timeout) {
  return Guard("Recv", [&] { return RecvImpl(transport, from_stage, key, slot, timeout); });
}
uint64_t CudaBackend::BeginOp() {
  uint64_t timer = 0;
  (void)Guard("BeginOp", [&] {
    timer = BeginOpImpl();
    return Status::Ok();
  });
  return timer;
}
void CudaBackend::EndOp(uint64_t timer) {
  (void)Guard("EndOp", [&] {
    EndOpImpl(timer);
    return Status::Ok();
  });
}
bool CudaBackend::OpTimesIfDone(uint64_t timer, bool wait, OpTimes* times) {
  bool done = false;  // failed: nothing more completes (the worker reports Failure() instead)
  (void)Guard("OpTimesIfDone", [&] {
    done = OpTimesIfDoneImpl(timer, wait, times);
    return Status::Ok();
  });
  return done;
}
void CudaBackend::Synchronize() {
  (void)Guard("Synchronize", [&] {
    CUDA_CHECK(cudaStreamSynchronize(ctx_.stream));
    return Status::Ok();
  });
}
void CudaBackend::ExportChunk(uint32_t chunk, ChunkState* out) const {
  (void)Guard("ExportChunk", [&] {
    ExportChunkImpl(chunk, out);
    return Status::Ok();
  });
}
void CudaBackend::ImportChunk(uint32_t chunk, const ChunkState& in) {
  (void)Guard("ImportChunk", [&] {
    ImportChunkImpl(chunk, in);
    return Status::Ok();
  });
}

BackendFactory CudaBackendFactory(ir::Precision precision) {
  return [precision](const BackendRequest& req) -> Result<std::unique_ptr<StageBackend>> {
    int device = 0;
    if (const cudaError_t e = cudaGetDevice(&device); e != cudaSuccess) {
      (void)cudaGetLastError();
      return Status::FailedPrecondition(std::string("--device cuda: cudaGetDevice: ") +
                                        cudaGetErrorString(e));
    }
    if (!RunsOnCuda(req.staleness.kind))
      return Status::InvalidArgument(
          fmt::format("--staleness {}: not on the CUDA backend yet (it has no kernel; "
                      "the CPU backend runs it, and drift-lr-scale and stage-lr run on both)",
                      StalenessText(req.staleness)));
    CudaBackendSetup s;
    s.model = req.train->model;
    s.B = req.train->B;
    s.adamw = req.train->adamw;
    s.precision = precision;
    s.chunks = req.chunks;
    s.init_params = req.params;
    s.pipemare_delta = req.pipemare;
    s.pipemare_gamma = req.pipemare_gamma;
    s.device = device;
    s.origin = req.origin;
    Result<std::unique_ptr<CudaBackend>> b = CudaBackend::Create(s);
    if (!b.ok()) return b.status();
    return std::unique_ptr<StageBackend>(std::move(*b));
  };
}

double gpt_flops_per_token(const GPTConfig& cfg) {
  const double n = static_cast<double>(gpt_param_layout(cfg).total);
  return 6.0 * n + 6.0 * cfg.n_layer * cfg.n_embd * static_cast<double>(cfg.block_size);
}

double gpu_bf16_peak_flops(const char* device_name) {
  const std::string name = device_name;
  const bool pcie = name.find("PCIe") != std::string::npos;
  if (name.find("H200") != std::string::npos) return 989e12;
  if (name.find("H100") != std::string::npos) return pcie ? 756e12 : 989e12;
  if (name.find("A100") != std::string::npos) return 312e12;
  return 0.0;
}

}  // namespace paci::exec
