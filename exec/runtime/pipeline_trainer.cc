#include "exec/runtime/pipeline_trainer.h"

#include <fmt/format.h>

#include <algorithm>
#include <latch>
#include <mutex>
#include <optional>
#include <thread>

#include "exec/model/affinity.h"
#include "exec/model/threads.h"
#include "exec/model/train.h"
#include "exec/runtime/cpu_backend.h"
#include "exec/runtime/pipeline_eval.h"
#include "exec/runtime/thread_transport.h"
#include "proto/ir_names.h"
#include "sched/weight_version_analysis.h"

namespace paci::exec {
namespace {

// Serialises the stage threads' calls into a sink that is not thread-safe.
class LockedSink : public TraceSink {
 public:
  explicit LockedSink(TraceSink* inner) : inner_(inner) {}
  void OnOp(const ir::TraceEvent& e) override {
    std::lock_guard l(mu_);
    inner_->OnOp(e);
  }
  void OnUpdate(const ir::UpdateMetric& m) override {
    std::lock_guard l(mu_);
    inner_->OnUpdate(m);
  }
  void OnMemory(const ir::MemorySample& s) override {
    std::lock_guard l(mu_);
    inner_->OnMemory(s);
  }
  Status Flush() override {
    std::lock_guard l(mu_);
    return inner_->Flush();
  }
  Status Failure() const override {
    std::lock_guard l(mu_);
    return inner_->Failure();
  }

 private:
  mutable std::mutex mu_;
  TraceSink* inner_;
};

std::vector<float> InitialParams(const GPTConfig& model, uint64_t seed) {
  const ParamLayout layout = gpt_param_layout(model);
  std::vector<float> params(layout.total, 0.0f);
  gpt_init_params(model, layout, seed, params.data());
  return params;
}

std::vector<LayerRange> ChunksOf(const std::vector<LayerRange>& ranges, uint32_t stage, uint32_t P) {
  std::vector<LayerRange> chunks;
  for (size_t v = stage; v < ranges.size(); v += P) chunks.push_back(ranges[v]);
  return chunks;
}

Result<std::unique_ptr<StageBackend>> MakeBackend(const PipelineConfig& cfg, const BackendRequest& req) {
  return cfg.backend ? cfg.backend(req) : MakeCpuBackend(req, cfg.cpu_async);
}

}  // namespace

Result<std::unique_ptr<StageBackend>> MakeCpuBackend(const BackendRequest& req, bool async) {
  CpuBackendSetup b;
  b.model = req.train->model;
  b.B = req.train->B;
  b.adamw = req.train->adamw;
  b.chunks = req.chunks;
  b.params = req.params;
  b.grads = req.grads;
  b.pipemare_delta = req.pipemare;
  b.pipemare_gamma = req.pipemare_gamma;
  b.staleness = req.staleness;
  b.async = async;
  b.origin = req.origin;
  b.memory = req.memory;
  Result<std::unique_ptr<CpuBackend>> cpu = CpuBackend::Create(b);
  if (!cpu.ok()) return cpu.status();
  return std::unique_ptr<StageBackend>(std::move(*cpu));
}

namespace {

// The stage's chunks from a checkpoint (the sizes were checked when it was loaded).
void ImportState(StageBackend& backend, const std::vector<LayerRange>& chunks, const GPTConfig& model,
                 const PipelineState& state) {
  const ParamLayout layout = gpt_param_layout(model);
  for (uint32_t c = 0; c < chunks.size(); ++c) {
    const size_t lo = layout.layer_offset[chunks[c].first], hi = layout.layer_offset[chunks[c].last];
    ChunkState s;
    s.weights.assign(state.params.begin() + lo, state.params.begin() + hi);
    s.m.assign(state.m.begin() + lo, state.m.begin() + hi);
    s.v.assign(state.v.begin() + lo, state.v.begin() + hi);
    s.step = state.updates;
    backend.ImportChunk(c, s);
  }
}

// Copies the stage's trained weights (and, with `state`, AdamW moments) into whole-model buffers.
void ExportState(StageBackend& backend, const std::vector<LayerRange>& chunks, const GPTConfig& model,
                 std::vector<float>* params, PipelineState* state) {
  backend.Synchronize();
  const ParamLayout layout = gpt_param_layout(model);
  for (uint32_t c = 0; c < chunks.size(); ++c) {
    const size_t lo = layout.layer_offset[chunks[c].first];
    ChunkState s;
    backend.ExportChunk(c, &s);
    std::copy(s.weights.begin(), s.weights.end(), params->begin() + static_cast<ptrdiff_t>(lo));
    if (!state) continue;
    std::copy(s.m.begin(), s.m.end(), state->m.begin() + static_cast<ptrdiff_t>(lo));
    std::copy(s.v.begin(), s.v.end(), state->v.begin() + static_cast<ptrdiff_t>(lo));
  }
}

SegmentStart StartOf(const PipelineConfig& cfg) {
  SegmentStart start;
  if (!cfg.resume) return start;
  start.resumed = true;
  start.updates = cfg.resume->updates;
  start.tokens = cfg.resume->tokens;
  start.sampler = cfg.resume->sampler;
  return start;
}

// Each stage's memory plan, computed once for all stages. A schedule the analysis refuses gets
// empty plans (buffers made on first use) and fails in the worker with the op that breaks it.
std::vector<StageMemoryPlan> PlanMemory(const ir::Schedule& schedule, const RecordControl& control) {
  Result<std::vector<StageMemoryPlan>> plans = PlanStageMemory(schedule);
  std::vector<StageMemoryPlan> out =
      plans.ok() ? std::move(*plans) : std::vector<StageMemoryPlan>(schedule.spec().stages());
  if (control.min_per_chunk == 0) return out;
  for (StageMemoryPlan& p : out) {
    p.records_per_chunk.resize(std::max<size_t>(p.records_per_chunk.size(), schedule.spec().chunks()), 0);
    for (uint32_t& r : p.records_per_chunk) r = std::max(r, control.min_per_chunk);
    p.rotate_records = true;
  }
  return out;
}

// The compensation stage `stage`'s backend applies: none where no micro-batch of the stage
// drifts, so a stage with nothing to estimate holds no estimate buffer (and the simulator, which
// counts one only where some drift is, predicts the same peak).
Staleness StageStaleness(const ir::Schedule& schedule, const Staleness& s, uint32_t stage) {
  if (!CostOf(s.kind).layer_estimate) return s;
  Result<WeightVersionReport> report = AnalyzeWeightVersions(schedule);
  if (report.ok() && report->stages[stage].max_drift == 0) return Staleness{};
  return s;
}

// Everything one stage needs; `eval` may be null.
struct StageRun {
  StageWorkerSetup setup;
  std::unique_ptr<StageBackend> backend;
  std::vector<LayerRange> chunks;
};

Result<StageRun> PrepareStage(const ir::Schedule& schedule, const PipelineConfig& cfg, uint32_t stage,
                              const std::vector<LayerRange>& ranges, float* params, float* grads,
                              const DataSplit& data, Transport* transport, TraceSink* sink,
                              PipelineEval* eval, std::chrono::steady_clock::time_point origin,
                              const StageMemoryPlan& memory) {
  StageRun run;
  run.chunks = ChunksOf(ranges, stage, schedule.spec().stages());
  BackendRequest req;
  req.stage = stage;
  req.chunks = run.chunks;
  req.train = &cfg.train;
  req.params = params;
  req.grads = grads;
  req.pipemare = schedule.spec().kind() == ir::PIPEMARE;
  req.pipemare_gamma = cfg.pipemare.gamma;
  req.staleness = StageStaleness(schedule, cfg.staleness, stage);
  req.origin = origin;
  req.memory = memory;
  Result<std::unique_ptr<StageBackend>> backend = MakeBackend(cfg, req);
  if (!backend.ok()) return backend.status();
  run.backend = WrapBackendWithFault(std::move(*backend), stage, cfg.fault);
  if (cfg.resume) ImportState(*run.backend, run.chunks, cfg.train.model, *cfg.resume);
  PACI_RETURN_IF_ERROR(run.backend->Failure());  // a device error while loading the checkpoint
  StageWorkerSetup& s = run.setup;
  s.schedule = &schedule;
  s.stage = stage;
  s.train = cfg.train;
  s.virtual_ranges = ranges;
  s.backend = run.backend.get();
  s.data = &data;
  s.transport = transport;
  s.sink = sink;
  s.eval = eval;
  s.recv_timeout = cfg.recv_timeout;
  s.pipemare = cfg.pipemare;
  s.staleness = cfg.staleness;
  s.start = StartOf(cfg);
  return run;
}

// A message key no schedule op uses: the trained weights of virtual stage v, sent at the end.
MessageKey WeightsKey(uint32_t virtual_stage) { return {false, UINT64_MAX, virtual_stage, virtual_stage}; }
// AdamW's first and second moments of a slice, for --save (micro-batch ids no schedule reaches).
MessageKey MomentKey(uint32_t virtual_stage, int moment) {
  return {moment == 2, UINT64_MAX - 1, virtual_stage, virtual_stage};
}

std::string SpecText(const ir::Schedule& schedule) {
  const ir::PipelineSpec& s = schedule.spec();
  return fmt::format("{} P={} K={} M={} V={}", ScheduleName(s.kind()), s.stages(), s.accum(),
                     s.microbatches_per_iteration(), s.chunks());
}

// The gathered model's validation loss and, for --save, the state a resumed run starts from.
void FinishResult(const ir::Schedule& schedule, const PipelineConfig& cfg, const DataSplit& data,
                  PipelineResult* result) {
  result->val_loss =
      EvaluateLoss(cfg.train.model, result->params.data(), data.val, cfg.train.B, cfg.train.eval_batches);
  if (!cfg.keep_state) return;
  result->state.params = result->params;
  result->state.updates = StartOf(cfg).updates + CountUpdates(schedule);
  result->state.tokens = result->updates.empty() ? StartOf(cfg).tokens : result->updates.back().tokens();
  result->state.sampler = result->stages[0].sampler;
  result->state.schedule = SpecText(schedule);
}

// The measured makespan: from the first op any stage started to the last op any stage finished,
// on the one clock all stage threads share. Set-up, weight export and validation are outside it,
// as they are outside the simulator's prediction.
double OpSpanSeconds(const std::vector<StageReport>& stages) {
  int64_t first = -1, last = 0;
  for (const StageReport& s : stages) {
    if (s.first_op_start_ns < 0) continue;
    first = first < 0 ? s.first_op_start_ns : std::min(first, s.first_op_start_ns);
    last = std::max(last, s.last_op_end_ns);
  }
  return first < 0 ? 0.0 : static_cast<double>(last - first) * 1e-9;
}

}  // namespace

Result<std::vector<LayerRange>> PlanPipeline(const ir::Schedule& schedule, const PipelineConfig& cfg) {
  PACI_RETURN_IF_ERROR(train_config_check(cfg.train));  // what trainer_create checks unpipelined
  const ir::PipelineSpec& spec = schedule.spec();
  if (spec.chunks() == 0)  // a check, not a default: generation and reading normalise it
    return Status::InvalidArgument(
        "spec.chunks is 0; specs are normalised when generated or read (sched/pipeline_spec.h)");
  const int parts = static_cast<int>(spec.stages() * spec.chunks());
  if (cfg.train.model.tie && parts > 1)
    return Status::InvalidArgument(
        "--tie: a tied LM head needs the embedding and the head on one "
        "stage; untie it to pipeline the model");
  // The stage worker never clips (PACI does not: method.md 2.2), on any device, even with one stage.
  if (cfg.train.grad_clip > 0.0f)
    return Status::InvalidArgument(
        "--grad-clip: global gradient clipping needs an all-reduce across "
        "stages, which these pipelines do not have; use --grad-clip 0");
  if (cfg.record_control.min_per_chunk > 0 && cfg.backend)
    return Status::InvalidArgument(
        "record_control: a benchmark's control of the CPU backend's records; "
        "this run has another backend");
  return cfg.partition.empty() ? partition_balanced(cfg.train.model, parts)
                               : partition_from_cuts(cfg.train.model, parts, cfg.partition);
}

float EvaluateLoss(const GPTConfig& model, const float* params, const std::vector<uint16_t>& tokens, int B,
                   int batches) {
  Result<StageModel> whole = StageModel::Create(model, 0, gpt_num_layers(model));
  PACI_CHECK(whole.ok());
  return eval_loss(*whole, params, tokens, B, batches);
}

Result<PipelineResult> TrainPipelineThreads(const ir::Schedule& schedule, const PipelineConfig& cfg,
                                            const DataSplit& data, TraceSink* sink) {
  Result<std::vector<LayerRange>> ranges = PlanPipeline(schedule, cfg);
  if (!ranges.ok()) return ranges.status();
  PACI_RETURN_IF_ERROR(train_data_check(cfg.train, data));
  const uint32_t P = schedule.spec().stages();
  PipelineResult result;
  result.partition = *ranges;
  result.params = cfg.resume ? cfg.resume->params : InitialParams(cfg.train.model, cfg.train.seed);
  if (cfg.keep_state) {
    result.state.m.assign(result.params.size(), 0.0f);
    result.state.v.assign(result.params.size(), 0.0f);
  }
  std::vector<float> grads(result.params.size(), 0.0f);
  const std::vector<StageMemoryPlan> memory = PlanMemory(schedule, cfg.record_control);
  ThreadTransportHub hub(P);
  // A mailbox holds messages sent to its stage and not yet received. An activation from stage
  // s - 1 not yet received belongs to a micro-batch whose record s - 1 still holds (its backward
  // needs this stage's gradient, which needs the activation first), a gradient from s + 1 to one
  // whose record this stage holds: so at most the records of the stage and its neighbours
  // (interleaved schedules wrap around from the last stage to the first).
  const size_t message_floats =
      static_cast<size_t>(cfg.train.B) * cfg.train.model.block_size * cfg.train.model.n_embd;
  const auto records = [&](uint32_t s) {
    uint32_t n = 0;
    for (uint32_t r : memory[s].records_per_chunk) n += r;
    return n;
  };
  for (uint32_t s = 0; s < P; ++s) {
    const uint32_t bound =
        records((s + P - 1) % P) + (P > 1 ? records(s) : 0) + (P > 2 ? records((s + 1) % P) : 0);
    hub.Reserve(s, bound, message_floats);
  }
  std::optional<LockedSink> locked;
  if (sink) locked.emplace(sink);
  TraceSink* shared_sink = locked ? &*locked : nullptr;
  std::optional<PipelineEval> eval;
  if (cfg.eval_every > 0)
    eval.emplace(cfg.train.model, &data.val, cfg.train.B, cfg.train.eval_batches, cfg.eval_every,
                 static_cast<uint32_t>(ranges->size()), shared_sink);
  result.stages.resize(P);
  std::vector<Status> status(P);
  const auto origin = std::chrono::steady_clock::now();
  {
    // Endpoints and the start line are declared first so they outlive the threads that use them.
    std::vector<std::unique_ptr<Transport>> endpoints;
    // The start line: every stage's first op waits until all stages are set up (records made,
    // weights copied, CPU pinned), so that they start together as the simulator's do. Without it
    // the stage set up first starts its ops while the others are still preparing, and its wait
    // for them (a median 3.0 ms at P = 2, 4.3 ms at P = 4 on the 2-CPU box) entered the makespan.
    std::latch prepared(P);
    std::vector<std::jthread> threads;
    for (uint32_t s = 0; s < P; ++s) endpoints.push_back(WrapWithFault(hub.Endpoint(s), cfg.fault));
    // OpenMP's thread count is per thread: give each stage the caller's, so results match it.
    const int omp_threads = exec_threads();
    for (uint32_t s = 0; s < P; ++s) {
      threads.emplace_back([&, s] {
        // Pinned before anything else, so the OpenMP workers and streams this stage starts inherit it.
        status[s] = s < cfg.stage_cpus.size() ? pin_this_thread(cfg.stage_cpus[s]) : Status::Ok();
        exec_set_threads(omp_threads);
        Result<StageRun> run =
            status[s].ok()
                ? PrepareStage(schedule, cfg, s, *ranges, result.params.data(), grads.data(), data,
                               endpoints[s].get(), shared_sink, eval ? &*eval : nullptr, origin, memory[s])
                : Result<StageRun>(status[s]);
        prepared.arrive_and_wait();  // every stage arrives, failed or not, so that none waits forever
        status[s] = run.ok() ? RunStageWorker(run->setup, &result.stages[s]) : run.status();
        if (!status[s].ok()) {
          endpoints[s]->Abort(fmt::format("stage {} failed", s));
          return;
        }
        ExportState(*run->backend, run->chunks, cfg.train.model, &result.params,
                    cfg.keep_state ? &result.state : nullptr);
        status[s] = run->backend->Failure();  // a device error while reading the weights back
        if (!status[s].ok()) endpoints[s]->Abort(fmt::format("stage {} failed", s));
      });
    }
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - origin).count();
  result.op_span_seconds = OpSpanSeconds(result.stages);
  // Report the root cause: the first stage that failed on its own, not one told to abort.
  for (const Status& st : status)
    if (!st.ok() && st.code() != Status::Code::kFailedPrecondition) return st;
  for (const Status& st : status)
    if (!st.ok()) return st;
  result.updates = result.stages[P - 1].updates;
  if (eval) {
    for (const ir::UpdateMetric& m : eval->Metrics()) result.updates.push_back(m);
    std::sort(result.updates.begin(), result.updates.end(),
              [](const ir::UpdateMetric& a, const ir::UpdateMetric& b) { return a.update() < b.update(); });
  }
  FinishResult(schedule, cfg, data, &result);
  return result;
}

// --eval-every with one stage per rank: every other rank sends its weight snapshots to the last
// rank, which completes each due update's model, evaluates it and emits the update's metric with
// its validation loss (so due updates reach the sink after the run, in update order).
Status GatherEval(const ir::Schedule& schedule, const PipelineConfig& cfg,
                  const std::vector<LayerRange>& ranges, Transport& transport, PipelineEval* eval,
                  PipelineResult* result) {
  const uint32_t P = schedule.spec().stages(), s = transport.stage();
  const ParamLayout layout = gpt_param_layout(cfg.train.model);
  const auto key = [](int64_t update, uint32_t v) {
    return MessageKey{false, UINT64_MAX - 2 - static_cast<uint64_t>(update), v, v};
  };
  if (s + 1 != P) {
    for (int64_t u : eval->PendingUpdates()) {
      const std::vector<float> params = eval->PartialParams(u);
      for (uint32_t v = s; v < ranges.size(); v += P) {
        const size_t lo = layout.layer_offset[ranges[v].first], hi = layout.layer_offset[ranges[v].last];
        PACI_RETURN_IF_ERROR(
            transport.Send(P - 1, key(u, v), std::span<const float>(params.data() + lo, hi - lo)));
      }
    }
    return Status::Ok();
  }
  const int64_t first = StartOf(cfg).updates, last = first + CountUpdates(schedule);
  for (int64_t u = first + 1; u <= last; ++u) {
    if (!eval->Due(u)) continue;
    for (uint32_t v = 0; v < ranges.size(); ++v) {
      if (v % P == s) continue;
      std::vector<float> slice;
      PACI_RETURN_IF_ERROR(transport.Recv(v % P, key(u, v), &slice, cfg.recv_timeout));
      eval->AddSlice(u, layout.layer_offset[ranges[v].first], std::move(slice));
    }
  }
  for (const ir::UpdateMetric& m : eval->Metrics()) result->updates.push_back(m);
  std::sort(result->updates.begin(), result->updates.end(),
            [](const ir::UpdateMetric& a, const ir::UpdateMetric& b) { return a.update() < b.update(); });
  return Status::Ok();
}

Result<PipelineResult> TrainPipelineStage(const ir::Schedule& schedule, const PipelineConfig& cfg,
                                          const DataSplit& data, Transport& transport, TraceSink* sink,
                                          const std::function<void()>& prepared) {
  Result<std::vector<LayerRange>> ranges = PlanPipeline(schedule, cfg);
  if (!ranges.ok()) return ranges.status();
  PACI_RETURN_IF_ERROR(train_data_check(cfg.train, data));
  const uint32_t P = schedule.spec().stages(), s = transport.stage();
  if (transport.stages() != P)
    return Status::InvalidArgument(
        fmt::format("--stages {} but the job has {} ranks", P, transport.stages()));
  PipelineResult result;
  result.partition = *ranges;
  result.params = cfg.resume ? cfg.resume->params : InitialParams(cfg.train.model, cfg.train.seed);
  std::vector<float> grads(result.params.size(), 0.0f);
  result.stages.resize(1);
  const auto origin = std::chrono::steady_clock::now();
  // --eval-every: every rank snapshots its slices after update kN; the last rank (which holds the
  // loss) evaluates once the other ranks' snapshots arrive after the run (GatherEval).
  std::optional<PipelineEval> eval;
  if (cfg.eval_every > 0)
    eval.emplace(cfg.train.model, &data.val, cfg.train.B, cfg.train.eval_batches, cfg.eval_every,
                 static_cast<uint32_t>(ranges->size()), s + 1 == P ? sink : nullptr);
  Result<StageRun> run =
      PrepareStage(schedule, cfg, s, *ranges, result.params.data(), grads.data(), data, &transport, sink,
                   eval ? &*eval : nullptr, origin, PlanMemory(schedule, cfg.record_control)[s]);
  if (!run.ok()) return run.status();
  if (prepared) prepared();
  PACI_RETURN_IF_ERROR(RunStageWorker(run->setup, &result.stages[0]));
  if (cfg.keep_state) {
    result.state.m.assign(result.params.size(), 0.0f);
    result.state.v.assign(result.params.size(), 0.0f);
  }
  ExportState(*run->backend, run->chunks, cfg.train.model, &result.params,
              cfg.keep_state ? &result.state : nullptr);
  PACI_RETURN_IF_ERROR(run->backend->Failure());
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - origin).count();
  result.updates = result.stages[0].updates;
  if (eval) PACI_RETURN_IF_ERROR(GatherEval(schedule, cfg, *ranges, transport, &*eval, &result));
  // Gather the trained slices on the last stage, which evaluates the whole model (and, for --save,
  // AdamW's moments, so it holds the whole checkpoint).
  const ParamLayout layout = gpt_param_layout(cfg.train.model);
  std::vector<std::pair<std::vector<float>*, MessageKey (*)(uint32_t)>> parts = {
      {&result.params, WeightsKey}};
  if (cfg.keep_state) {
    parts.push_back({&result.state.m, [](uint32_t v) { return MomentKey(v, 1); }});
    parts.push_back({&result.state.v, [](uint32_t v) { return MomentKey(v, 2); }});
  }
  for (uint32_t v = s; v < ranges->size() && s + 1 != P; v += P) {
    const size_t lo = layout.layer_offset[(*ranges)[v].first], hi = layout.layer_offset[(*ranges)[v].last];
    for (const auto& [whole, key] : parts)
      PACI_RETURN_IF_ERROR(
          transport.Send(P - 1, key(v), std::span<const float>(whole->data() + lo, hi - lo)));
  }
  if (s + 1 == P) {
    for (uint32_t v = 0; v < ranges->size(); ++v) {
      if (v % P == s) continue;
      for (const auto& [whole, key] : parts) {
        std::vector<float> slice;
        PACI_RETURN_IF_ERROR(transport.Recv(v % P, key(v), &slice, cfg.recv_timeout));
        std::copy(slice.begin(), slice.end(),
                  whole->begin() + static_cast<ptrdiff_t>(layout.layer_offset[(*ranges)[v].first]));
      }
    }
    FinishResult(schedule, cfg, data, &result);
  }
  PACI_RETURN_IF_ERROR(transport.Flush());
  return result;
}

}  // namespace paci::exec
