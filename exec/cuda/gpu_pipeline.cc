// One-GPU pipeline runtime. See gpu_pipeline.h.
#include "exec/cuda/gpu_pipeline.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "exec/cuda/elementwise.cuh"
#include "exec/cuda/stage_cuda.h"
#include "exec/runtime/stage_worker.h"  // CountUpdates
#include "exec/runtime/transport.h"
#include "proto/ir_names.h"
#include "sched/expanded_schedule.h"
#include "sched/op_messages.h"

namespace paci::exec {

namespace {

using MbKey = std::pair<uint64_t, uint32_t>;                          // (micro-batch, chunk)
using MsgKey = std::tuple<bool, uint64_t, uint32_t, uint32_t>;        // MessageKey fields

MsgKey Tuple(const MessageKey& k) { return {k.is_grad, k.micro_batch, k.from_virtual, k.to_virtual}; }

// A device message buffer. `freed` is recorded on the stream that last read it, so the next writer
// (maybe another stage's stream) waits for that read.
struct MsgBuf {
  DeviceBuffer buf;
  cudaEvent_t freed = nullptr;
};

struct OpTiming {
  PlainOp op;
  cudaEvent_t start = nullptr, end = nullptr;
  int64_t version = -1;
  uint64_t live = 0;
};

}  // namespace

struct OneGpuPipeline::Impl {
  struct Chunk {
    StageModelCuda model;
    AdamWCuda opt;
  };
  struct Stage {
    std::vector<Chunk> chunks;
    std::map<MbKey, std::unique_ptr<StageSavedCuda>> saved;
    std::vector<std::unique_ptr<StageSavedCuda>> free_saved;
    std::map<MbKey, MsgBuf*> inbox, outbox;
    int64_t updates = 0;           // optimizer steps done (the live weight version)
    uint64_t next_sample = 0;      // micro-batches drawn from the pool (first/last virtual stage)
    uint64_t live = 0;
    std::vector<size_t> group;     // loss slots since the last update (stage with the loss)
  };

  OneGpuConfig cfg;
  DeviceTransport* ranks = nullptr;  // rank mode
  std::vector<uint32_t> local;       // stages played by this process
  uint32_t P = 1, V = 1;
  std::vector<LayerRange> ranges;
  std::vector<CudaContext> ctx;  // one per stage, or one in single_stream mode
  DeviceBuffer params, grads, params_bf16, tokens, targets, losses;
  std::vector<Stage> stages;
  std::vector<std::unique_ptr<MsgBuf>> msgs;  // owns every message buffer
  std::vector<MsgBuf*> free_msgs;
  std::map<MsgKey, std::pair<MsgBuf*, cudaEvent_t>> mailbox;
  std::vector<cudaEvent_t> free_events, all_events;
  size_t msg_bytes = 0;
  uint64_t peak = 0;

  ~Impl() {
    for (cudaEvent_t e : all_events) cudaEventDestroy(e);
    for (auto& m : msgs)
      if (m->freed != nullptr) cudaEventDestroy(m->freed);
    for (CudaContext& c : ctx) cuda_context_destroy(&c);
  }

  const CudaContext& Ctx(uint32_t s) const { return ctx[cfg.single_stream || ranks != nullptr ? 0 : s]; }
  uint32_t Virtual(uint32_t s, uint32_t c) const { return c * P + s; }
  bool FirstVirtual(uint32_t s, uint32_t c) const { return Virtual(s, c) == 0; }
  bool LastVirtual(uint32_t s, uint32_t c) const { return Virtual(s, c) + 1 == P * V; }
  int B() const { return cfg.train.B; }
  int T() const { return cfg.train.model.block_size; }

  cudaEvent_t NewEvent() {
    if (!free_events.empty()) {
      cudaEvent_t e = free_events.back();
      free_events.pop_back();
      return e;
    }
    cudaEvent_t e;
    CUDA_CHECK(cudaEventCreate(&e));
    all_events.push_back(e);
    return e;
  }

  MsgBuf* AcquireMsg(cudaStream_t stream) {
    MsgBuf* m;
    if (ranks != nullptr) {
      // Rank mode: a buffer's last reader may be a NCCL send waiting on another process, so only
      // reuse buffers whose last use has completed; waiting on the others could close a cycle
      // across processes.
      for (size_t i = 0; i < free_msgs.size(); i++) {
        if (cudaEventQuery(free_msgs[i]->freed) == cudaSuccess) {
          m = free_msgs[i];
          free_msgs.erase(free_msgs.begin() + static_cast<long>(i));
          return m;
        }
      }
      (void)cudaGetLastError();  // cudaEventQuery's "not ready" is not an error
    }
    if (free_msgs.empty() || ranks != nullptr) {
      msgs.push_back(std::make_unique<MsgBuf>());
      m = msgs.back().get();
      m->buf.reserve(msg_bytes);
      CUDA_CHECK(cudaEventCreateWithFlags(&m->freed, cudaEventDisableTiming));
    } else {
      m = free_msgs.back();
      free_msgs.pop_back();
      CUDA_CHECK(cudaStreamWaitEvent(stream, m->freed, 0));
    }
    return m;
  }
  void ReleaseMsg(MsgBuf* m, cudaStream_t stream) {
    CUDA_CHECK(cudaEventRecord(m->freed, stream));
    free_msgs.push_back(m);
  }

  StageSavedCuda* AcquireSaved(Stage& st, const MbKey& key) {
    std::unique_ptr<StageSavedCuda> rec;
    if (st.free_saved.empty()) {
      rec = std::make_unique<StageSavedCuda>();
    } else {
      rec = std::move(st.free_saved.back());
      st.free_saved.pop_back();
    }
    StageSavedCuda* p = rec.get();
    st.saved[key] = std::move(rec);
    return p;
  }
  // Same stream reuses it next, so no event is needed.
  void ReleaseSaved(Stage& st, const MbKey& key) {
    auto it = st.saved.find(key);
    st.free_saved.push_back(std::move(it->second));
    st.saved.erase(it);
  }

  StageWeightsCuda Weights(uint32_t s, uint32_t c) const {
    const size_t off = stages[s].chunks[c].model.cpu().param_offset();
    StageWeightsCuda w;
    w.master = params.as<float>() + off;
    if (cfg.precision == Precision::kBF16) w.bf16 = params_bf16.as<__nv_bfloat16>() + off;
    return w;
  }
  float* Grads(uint32_t s, uint32_t c) const {
    return grads.as<float>() + stages[s].chunks[c].model.cpu().param_offset();
  }

  enum class Issued { kDone, kBlocked };
  Result<Issued> Issue(const PlainOp& op, float loss_divisor, int64_t total_updates, std::vector<size_t>* loss_slots,
                       std::vector<std::vector<size_t>>* update_groups, int64_t* version);
};

OneGpuPipeline::OneGpuPipeline(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
OneGpuPipeline::~OneGpuPipeline() = default;

const std::vector<LayerRange>& OneGpuPipeline::ranges() const { return impl_->ranges; }

Result<std::unique_ptr<OneGpuPipeline>> OneGpuPipeline::Create(const OneGpuConfig& cfg, uint32_t stages,
                                                               uint32_t chunks, const DataSplit& data,
                                                               DeviceTransport* ranks) {
  if (cuda_device_count() == 0) return Status::FailedPrecondition("one-GPU mode: no CUDA device");
  const GPTConfig& model = cfg.train.model;
  PACI_RETURN_IF_ERROR(gpt_config_validate(model));
  PACI_RETURN_IF_ERROR(sampler_check(data.train, model.block_size, "training split"));
  if (cfg.batch_pool < 1) return Status::InvalidArgument("one-GPU mode: batch pool must be at least 1");
  auto impl = std::make_unique<Impl>();
  impl->cfg = cfg;
  impl->P = stages;
  impl->V = std::max<uint32_t>(1, chunks);
  impl->ranks = ranks;
  if (ranks != nullptr) {
    if (ranks->stages() != stages)
      return Status::InvalidArgument(fmt::format("rank mode: {} ranks for {} stages", ranks->stages(), stages));
    impl->local = {ranks->stage()};
  } else {
    for (uint32_t s = 0; s < stages; s++) impl->local.push_back(s);
  }
  const uint32_t virtuals = impl->P * impl->V;
  if (cfg.ranges.empty()) {
    Result<std::vector<LayerRange>> r = partition_balanced(model, static_cast<int>(virtuals));
    if (!r.ok()) return r.status();
    impl->ranges = *r;
  } else {
    impl->ranges = cfg.ranges;
  }
  if (impl->ranges.size() != virtuals)
    return Status::InvalidArgument(fmt::format("one-GPU mode: {} layer ranges for {} virtual stages",
                                               impl->ranges.size(), virtuals));

  const ParamLayout layout = gpt_param_layout(model);
  const size_t n = layout.total;
  impl->params.reserve(n * sizeof(float));
  impl->grads.reserve(n * sizeof(float));
  {
    std::vector<float> host(n);
    gpt_init_params(model, layout, cfg.train.seed, host.data());
    CUDA_CHECK(cudaMemcpy(impl->params.get(), host.data(), n * sizeof(float), cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemset(impl->grads.get(), 0, n * sizeof(float)));
  }
  if (cfg.precision == Precision::kBF16) {
    impl->params_bf16.reserve(n * sizeof(__nv_bfloat16));
    convert_cuda<__nv_bfloat16, float>(impl->params_bf16.as<__nv_bfloat16>(), impl->params.as<float>(), n, nullptr);
  }

  const int ncontexts = cfg.single_stream || ranks != nullptr ? 1 : static_cast<int>(impl->P);
  for (int i = 0; i < ncontexts; i++) impl->ctx.push_back(cuda_context_create());

  impl->stages.resize(impl->P);
  for (uint32_t s : impl->local) {
    for (uint32_t c = 0; c < impl->V; c++) {
      const LayerRange r = impl->ranges[impl->Virtual(s, c)];
      Result<StageModelCuda> m = StageModelCuda::Create(model, r.first, r.last, cfg.precision);
      if (!m.ok()) return m.status();
      Impl::Chunk chunk{std::move(*m), {}};
      chunk.opt = adamw_cuda_create(cfg.train.adamw, layout, chunk.model.cpu().param_offset(),
                                    chunk.model.cpu().num_params());
      impl->stages[s].chunks.push_back(std::move(chunk));
    }
  }
  impl->msg_bytes = impl->stages[impl->local[0]].chunks[0].model.message_bytes(cfg.train.B, model.block_size);

  // The batch pool: the same windows unpipelined training with this seed would draw first.
  const size_t bt = static_cast<size_t>(cfg.train.B) * model.block_size;
  std::vector<int> tok(bt * cfg.batch_pool), tgt(bt * cfg.batch_pool);
  Sampler sampler;
  sampler.kind = cfg.train.sampler;
  sampler.rng.state = cfg.train.seed;
  for (int i = 0; i < cfg.batch_pool; i++)
    sampler_next(&sampler, data.train, cfg.train.B, model.block_size, tok.data() + i * bt, tgt.data() + i * bt);
  impl->tokens.reserve(tok.size() * sizeof(int));
  impl->targets.reserve(tgt.size() * sizeof(int));
  CUDA_CHECK(cudaMemcpy(impl->tokens.get(), tok.data(), tok.size() * sizeof(int), cudaMemcpyHostToDevice));
  CUDA_CHECK(cudaMemcpy(impl->targets.get(), tgt.data(), tgt.size() * sizeof(int), cudaMemcpyHostToDevice));
  CUDA_CHECK(cudaDeviceSynchronize());
  return std::unique_ptr<OneGpuPipeline>(new OneGpuPipeline(std::move(impl)));
}

Result<OneGpuPipeline::Impl::Issued> OneGpuPipeline::Impl::Issue(const PlainOp& op, float loss_divisor,
                                                                  int64_t total_updates,
                                                                  std::vector<size_t>* loss_slots,
                                                                  std::vector<std::vector<size_t>>* update_groups,
                                                                  int64_t* version) {
  Stage& st = stages[op.stage];
  const CudaContext& c = Ctx(op.stage);
  const MbKey key{op.micro_batch, op.chunk};
  const size_t bt = static_cast<size_t>(B()) * T();
  const auto text = [&] {
    return fmt::format("{}{}{}{} (op {})", op.stage, OpKindCode(op.kind), op.micro_batch,
                       op.chunk > 0 ? fmt::format(".{}", op.chunk) : std::string(), op.id);
  };
  switch (op.kind) {
    case ir::FORWARD: {
      const bool first = FirstVirtual(op.stage, op.chunk), last = LastVirtual(op.stage, op.chunk);
      StageInputCuda in;
      if (first || last) {
        const size_t slot = (st.next_sample++) % static_cast<size_t>(cfg.batch_pool);
        if (first) in.tokens = tokens.as<int>() + slot * bt;
        if (last) in.targets = targets.as<int>() + slot * bt;
      }
      MsgBuf* inmsg = nullptr;
      if (!first) {
        auto it = st.inbox.find(key);
        if (it == st.inbox.end()) return Status::Internal("one-GPU: no activation received for " + text());
        inmsg = it->second;
        st.inbox.erase(it);
        in.acts = inmsg->buf.get();
      }
      *version = st.updates;
      StageSavedCuda* saved = AcquireSaved(st, key);
      MsgBuf* out = last ? nullptr : AcquireMsg(c.stream);
      st.chunks[op.chunk].model.forward(c, Weights(op.stage, op.chunk), in, B(), T(), saved,
                                        out ? out->buf.get() : nullptr);
      if (inmsg) ReleaseMsg(inmsg, c.stream);
      if (out) st.outbox[key] = out;
      if (last) {
        const size_t slot = loss_slots->size();
        PACI_CHECK(slot * sizeof(float) < losses.bytes());
        CUDA_CHECK(cudaMemcpyAsync(losses.as<float>() + slot, saved->loss.get(), sizeof(float),
                                   cudaMemcpyDeviceToDevice, c.stream));
        loss_slots->push_back(slot);
        st.group.push_back(slot);
      }
      return Issued::kDone;
    }
    case ir::BACKWARD:
    case ir::BACKWARD_INPUT: {
      auto sv = st.saved.find(key);
      if (sv == st.saved.end()) return Status::Internal("one-GPU: backward before forward at " + text());
      MsgBuf* inmsg = nullptr;
      if (!LastVirtual(op.stage, op.chunk)) {
        auto it = st.inbox.find(key);
        if (it == st.inbox.end()) return Status::Internal("one-GPU: no gradient received for " + text());
        inmsg = it->second;
        st.inbox.erase(it);
      }
      *version = st.updates;
      MsgBuf* out = FirstVirtual(op.stage, op.chunk) ? nullptr : AcquireMsg(c.stream);
      const StageModelCuda& m = st.chunks[op.chunk].model;
      const void* dout = inmsg ? inmsg->buf.get() : nullptr;
      void* dinp = out ? out->buf.get() : nullptr;
      if (op.kind == ir::BACKWARD) {
        m.backward(c, Weights(op.stage, op.chunk), sv->second.get(), dout, 1.0f / loss_divisor, dinp,
                   Grads(op.stage, op.chunk));
        ReleaseSaved(st, key);
      } else {
        m.backward_input(c, Weights(op.stage, op.chunk), sv->second.get(), dout, 1.0f / loss_divisor, dinp);
      }
      if (inmsg) ReleaseMsg(inmsg, c.stream);
      if (out) st.outbox[key] = out;
      return Issued::kDone;
    }
    case ir::BACKWARD_WEIGHT: {
      auto sv = st.saved.find(key);
      if (sv == st.saved.end()) return Status::Internal("one-GPU: weight-gradient before backward at " + text());
      *version = st.updates;
      st.chunks[op.chunk].model.backward_weight(c, sv->second.get(), Grads(op.stage, op.chunk));
      ReleaseSaved(st, key);
      return Issued::kDone;
    }
    case ir::OPTIMIZER_STEP: {
      *version = st.updates;
      for (uint32_t ch = 0; ch < V; ch++) {
        Chunk& chunk = st.chunks[ch];
        const TrainConfig& t = cfg.train;
        const float lr = lr_schedule(chunk.opt.step, t.lr, t.warmup, total_updates, t.min_lr_frac);
        const size_t off = chunk.model.cpu().param_offset(), n = chunk.model.cpu().num_params();
        __nv_bfloat16* shadow =
            cfg.precision == Precision::kBF16 ? params_bf16.as<__nv_bfloat16>() + off : nullptr;
        adamw_cuda_update(&chunk.opt, params.as<float>() + off, grads.as<float>() + off, lr, shadow, c.stream);
        CUDA_CHECK(cudaMemsetAsync(grads.as<float>() + off, 0, n * sizeof(float), c.stream));
      }
      st.updates++;
      if (LastVirtual(op.stage, V - 1) && !st.group.empty()) {
        update_groups->push_back(st.group);
        st.group.clear();
      }
      return Issued::kDone;
    }
    default:
      break;
  }
  const std::optional<MessageKey> mk = MessageOf(op, P, V);
  if (!mk) return Status::Internal("one-GPU: " + text() + " leaves the pipeline");
  if (ranks != nullptr) {
    const uint32_t peer = StageChunkOf(IsSend(op.kind) ? mk->to_virtual : mk->from_virtual, P).stage;
    if (IsSend(op.kind)) {
      auto it = st.outbox.find(key);
      if (it == st.outbox.end()) return Status::Internal("rank mode: nothing to send at " + text());
      MsgBuf* m = it->second;
      st.outbox.erase(it);
      PACI_RETURN_IF_ERROR(ranks->SendDevice(peer, m->buf.get(), msg_bytes, c.stream, m->freed));
      free_msgs.push_back(m);  // reused once `freed` (recorded after the send) has completed
      return Issued::kDone;
    }
    MsgBuf* m = AcquireMsg(c.stream);
    PACI_RETURN_IF_ERROR(ranks->RecvDevice(peer, m->buf.get(), msg_bytes, c.stream, nullptr));
    st.inbox[key] = m;
    return Issued::kDone;
  }
  if (IsSend(op.kind)) {
    auto it = st.outbox.find(key);
    if (it == st.outbox.end()) return Status::Internal("one-GPU: nothing to send at " + text());
    cudaEvent_t ready = NewEvent();
    CUDA_CHECK(cudaEventRecord(ready, c.stream));
    mailbox[Tuple(*mk)] = {it->second, ready};
    st.outbox.erase(it);
    return Issued::kDone;
  }
  auto it = mailbox.find(Tuple(*mk));
  if (it == mailbox.end()) return Issued::kBlocked;
  CUDA_CHECK(cudaStreamWaitEvent(c.stream, it->second.second, 0));
  free_events.push_back(it->second.second);  // the wait has captured it; it may be re-recorded
  st.inbox[key] = it->second.first;
  mailbox.erase(it);
  return Issued::kDone;
}

Result<OneGpuRunResult> OneGpuPipeline::Run(const ir::Schedule& schedule, TraceSink* sink) {
  Impl& I = *impl_;
  const ir::PipelineSpec& spec = schedule.spec();
  if (spec.stages() != I.P || std::max<uint32_t>(1, spec.chunks()) != I.V)
    return Status::InvalidArgument(fmt::format("one-GPU: schedule has {} stages x {} chunks, pipeline {} x {}",
                                               spec.stages(), spec.chunks(), I.P, I.V));
  if (spec.kind() == ir::PIPEMARE)
    return Status::FailedPrecondition("one-GPU mode does not implement PipeMare's corrections; use the CPU runtime");
  bool flush = false;
  for (uint32_t s : I.local) {
    const ir::WeightPolicy p = schedule.streams(s).weight_policy();
    if (p != ir::LIVE_BOUNDED_DRIFT && p != ir::SYNC_AFTER_FLUSH)
      return Status::FailedPrecondition(
          "one-GPU mode runs live weights (PACI) and flush schedules only; weight stashing and double "
          "buffering (PipeDream, 2BW) need the CPU runtime");
    flush = p == ir::SYNC_AFTER_FLUSH;
  }
  const float loss_divisor = static_cast<float>(flush ? spec.microbatches_per_iteration() : spec.accum());
  const int64_t total_updates = CountUpdates(schedule);
  uint64_t last_stage_ops = 0;
  for (uint32_t s : I.local) last_stage_ops = std::max(last_stage_ops, StageLength(schedule.streams(s)));
  I.losses.reserve(std::max<uint64_t>(1, last_stage_ops) * sizeof(float));
  for (Impl::Stage& st : I.stages) {
    st.next_sample = 0;  // each run starts from the pool's first batch on every stage
    st.group.clear();
  }

  std::vector<size_t> loss_slots;
  std::vector<std::vector<size_t>> groups;
  std::vector<OpTiming> timings;
  std::deque<cudaEvent_t> window;  // rank mode: compute ops issued and maybe not yet done
  cudaEvent_t origin = I.NewEvent();
  CUDA_CHECK(cudaEventRecord(origin, I.ctx[0].stream));
  for (size_t i = 1; i < I.ctx.size(); i++) CUDA_CHECK(cudaStreamWaitEvent(I.ctx[i].stream, origin, 0));

  const std::vector<uint64_t> bases = StageIdBases(schedule);
  std::vector<StageOpCursor> cursors;
  for (uint32_t s : I.local) cursors.emplace_back(schedule.streams(s), bases[s]);
  for (;;) {
    bool progress = false, done = true;
    for (size_t li = 0; li < I.local.size(); li++) {
      const uint32_t s = I.local[li];
      StageOpCursor& cur = cursors[li];
      while (!cur.Done()) {
        const PlainOp& op = cur.Current();
        const cudaStream_t stream = I.Ctx(s).stream;
        OpTiming t;
        t.op = op;
        t.start = I.NewEvent();
        CUDA_CHECK(cudaEventRecord(t.start, stream));
        Result<Impl::Issued> r = I.Issue(op, loss_divisor, total_updates, &loss_slots, &groups, &t.version);
        if (!r.ok()) return r.status();
        if (*r == Impl::Issued::kBlocked) {
          I.free_events.push_back(t.start);  // recorded but unused; harmless to re-record
          break;
        }
        t.end = I.NewEvent();
        CUDA_CHECK(cudaEventRecord(t.end, stream));
        Impl::Stage& st = I.stages[s];
        st.live = 0;
        for (const auto& [k, rec] : st.saved) st.live += rec->bytes();
        st.live += (st.inbox.size() + st.outbox.size()) * I.msg_bytes;
        t.live = st.live;
        I.peak = std::max(I.peak, st.live);
        if (I.ranks != nullptr && IsCompute(op.kind)) {
          // Rank mode never blocks on a RECV, so the host could run arbitrarily far ahead of the
          // GPU (each op in flight holds memory): keep at most a window of compute ops issued
          // ahead of the last one completed.
          window.push_back(t.end);
          if (window.size() > 4 * I.P + 16) {
            CUDA_CHECK(cudaEventSynchronize(window.front()));
            window.pop_front();
          }
        }
        timings.push_back(t);
        cur.Next();
        progress = true;
      }
      done = done && cur.Done();
    }
    if (done) break;
    if (!progress) {
      for (size_t li = 0; li < I.local.size(); li++) {
        const uint32_t s = I.local[li];
        if (cursors[li].Done()) continue;
        const PlainOp& op = cursors[li].Current();
        const std::optional<MessageKey> mk = MessageOf(op, I.P, I.V);
        return Status::FailedPrecondition(fmt::format("one-GPU: deadlock, stage {} waits for the {}", s,
                                                      mk ? DescribeMessage(*mk, I.P) : std::string("?")));
      }
    }
  }
  CUDA_CHECK(cudaDeviceSynchronize());

  OneGpuRunResult res;
  res.stage_times.resize(I.P);
  std::vector<std::array<double, 5>> sum(I.P, {0, 0, 0, 0, 0});
  std::vector<std::array<int, 5>> cnt(I.P, {0, 0, 0, 0, 0});
  std::vector<ir::TraceEvent> events;
  std::vector<int64_t> update_end_ns;
  for (const OpTiming& t : timings) {
    float a = 0, b = 0;
    CUDA_CHECK(cudaEventElapsedTime(&a, origin, t.start));
    CUDA_CHECK(cudaEventElapsedTime(&b, origin, t.end));
    const double ms = b - a;
    res.wall_ms = std::max(res.wall_ms, static_cast<double>(b));
    int k = -1;
    switch (t.op.kind) {
      case ir::FORWARD: k = 0; break;
      case ir::BACKWARD: k = 1; break;
      case ir::BACKWARD_INPUT: k = 2; break;
      case ir::BACKWARD_WEIGHT: k = 3; break;
      case ir::OPTIMIZER_STEP: k = 4; break;
      default: break;
    }
    if (k >= 0) {
      sum[t.op.stage][k] += ms;
      cnt[t.op.stage][k]++;
      res.compute_ms += ms;
    }
    if (t.op.kind == ir::FORWARD && I.LastVirtual(t.op.stage, t.op.chunk)) res.microbatches++;
    if (t.op.kind == ir::OPTIMIZER_STEP && t.op.stage == I.local[0]) res.updates++;
    if (t.op.kind == ir::OPTIMIZER_STEP && t.op.stage == I.P - 1) {
      update_end_ns.push_back(static_cast<int64_t>(b * 1e6));
    }
    ir::TraceEvent e;
    e.set_op_id(t.op.id);
    e.set_stage(t.op.stage);
    e.set_start_ns(static_cast<int64_t>(a * 1e6));
    e.set_end_ns(static_cast<int64_t>(b * 1e6));
    e.set_weight_version(IsCompute(t.op.kind) ? t.version : -1);
    e.set_live_bytes(t.live);
    e.set_kind(t.op.kind);
    e.set_micro_batch(t.op.micro_batch);
    e.set_chunk(t.op.chunk);
    e.set_lane(IsSend(t.op.kind) ? ir::LANE_SEND : IsRecv(t.op.kind) ? ir::LANE_RECV : ir::LANE_COMPUTE);
    events.push_back(std::move(e));
  }
  for (const OpTiming& t : timings) {
    I.free_events.push_back(t.start);
    I.free_events.push_back(t.end);
  }
  I.free_events.push_back(origin);
  for (uint32_t s : I.local) {
    auto mean = [&](int k) { return cnt[s][k] ? sum[s][k] / cnt[s][k] : 0.0; };
    res.stage_times[s] = {mean(0), mean(1), mean(2), mean(3), mean(4)};
  }
  res.tokens = res.microbatches * static_cast<uint64_t>(I.B()) * I.T();
  res.peak_bytes = I.peak;

  std::vector<float> host_losses(loss_slots.size());
  if (!host_losses.empty())
    CUDA_CHECK(cudaMemcpy(host_losses.data(), I.losses.get(), host_losses.size() * sizeof(float),
                          cudaMemcpyDeviceToHost));
  uint64_t tokens = 0;
  for (size_t u = 0; u < groups.size(); u++) {
    double l = 0;
    for (size_t slot : groups[u]) l += host_losses[slot];
    const float mean = static_cast<float>(l / groups[u].size());
    res.update_losses.push_back(mean);
    tokens += groups[u].size() * static_cast<uint64_t>(I.B()) * I.T();
    if (sink != nullptr) {
      ir::UpdateMetric m;
      m.set_update(u + 1);
      m.set_loss(mean);
      m.set_val_loss(std::nan(""));
      m.set_tokens(tokens);
      m.set_wall_ns(u < update_end_ns.size() ? update_end_ns[u] : 0);
      sink->OnUpdate(m);
    }
  }
  if (sink != nullptr) {
    std::stable_sort(events.begin(), events.end(),
                     [](const ir::TraceEvent& x, const ir::TraceEvent& y) { return x.start_ns() < y.start_ns(); });
    for (const ir::TraceEvent& e : events) sink->OnOp(e);
  }
  return res;
}

std::vector<float> OneGpuPipeline::Params() const {
  const size_t n = impl_->params.bytes() / sizeof(float);
  std::vector<float> host(n);
  CUDA_CHECK(cudaDeviceSynchronize());
  CUDA_CHECK(cudaMemcpy(host.data(), impl_->params.get(), n * sizeof(float), cudaMemcpyDeviceToHost));
  return host;
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
