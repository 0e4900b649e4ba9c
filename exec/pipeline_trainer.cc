#include "exec/pipeline_trainer.h"

#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "exec/thread_transport.h"
#include "exec/threads.h"
#include "exec/train.h"

namespace paci::exec {
namespace {

// Serialises the stage threads' calls into a sink that is not thread-safe.
class LockedSink : public TraceSink {
 public:
  explicit LockedSink(TraceSink* inner) : inner_(inner) {}
  void OnOp(const ir::TraceEvent& e) override { std::lock_guard l(mu_); inner_->OnOp(e); }
  void OnUpdate(const ir::UpdateMetric& m) override { std::lock_guard l(mu_); inner_->OnUpdate(m); }
  void OnMemory(const ir::MemorySample& s) override { std::lock_guard l(mu_); inner_->OnMemory(s); }
  Status Flush() override { std::lock_guard l(mu_); return inner_->Flush(); }

 private:
  std::mutex mu_;
  TraceSink* inner_;
};

std::vector<float> InitialParams(const GPTConfig& model, uint64_t seed) {
  const ParamLayout layout = gpt_param_layout(model);
  std::vector<float> params(layout.total, 0.0f);
  gpt_init_params(model, layout, seed, params.data());
  return params;
}

StageWorkerSetup MakeSetup(const ir::Schedule& schedule, const PipelineConfig& cfg, uint32_t stage,
                           const std::vector<LayerRange>& ranges, float* params, float* grads,
                           const DataSplit& data, Transport* transport, TraceSink* sink,
                           std::chrono::steady_clock::time_point origin) {
  StageWorkerSetup s;
  s.schedule = &schedule;
  s.stage = stage;
  s.train = cfg.train;
  s.virtual_ranges = ranges;
  s.params = params;
  s.grads = grads;
  s.data = &data;
  s.transport = transport;
  s.sink = sink;
  s.origin = origin;
  s.recv_timeout = cfg.recv_timeout;
  s.pipemare = cfg.pipemare;
  return s;
}

// A message key no schedule op uses: the trained weights of virtual stage v, sent at the end.
MessageKey WeightsKey(uint32_t virtual_stage) { return {false, UINT64_MAX, virtual_stage, virtual_stage}; }

}  // namespace

Result<std::vector<LayerRange>> PlanPipeline(const ir::Schedule& schedule, const PipelineConfig& cfg) {
  PACI_RETURN_IF_ERROR(train_config_check(cfg.train));  // what trainer_create checks unpipelined
  const ir::PipelineSpec& spec = schedule.spec();
  const int parts = static_cast<int>(spec.stages() * std::max<uint32_t>(1, spec.chunks()));
  if (cfg.train.model.tie && parts > 1)
    return Status::InvalidArgument("--tie: a tied LM head needs the embedding and the head on one "
                                   "stage; untie it to pipeline the model");
  if (cfg.train.grad_clip > 0.0f && parts > 1)
    return Status::InvalidArgument("--grad-clip: global gradient clipping needs an all-reduce across "
                                   "stages, which these pipelines do not have; use --grad-clip 0");
  return cfg.partition.empty() ? partition_balanced(cfg.train.model, parts)
                               : partition_from_cuts(cfg.train.model, parts, cfg.partition);
}

float EvaluateLoss(const GPTConfig& model, const float* params, const std::vector<uint16_t>& tokens,
                   int B, int batches) {
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
  result.params = InitialParams(cfg.train.model, cfg.train.seed);
  std::vector<float> grads(result.params.size(), 0.0f);
  ThreadTransportHub hub(P);
  std::optional<LockedSink> locked;
  if (sink) locked.emplace(sink);
  result.stages.resize(P);
  std::vector<Status> status(P);
  const auto origin = std::chrono::steady_clock::now();
  {
    // Endpoints are declared first so they outlive the threads that use them.
    std::vector<std::unique_ptr<Transport>> endpoints;
    std::vector<std::jthread> threads;
    for (uint32_t s = 0; s < P; ++s) endpoints.push_back(WrapWithFault(hub.Endpoint(s), cfg.fault));
    // OpenMP's thread count is per thread: give each stage the caller's, so results match it.
    const int omp_threads = exec_threads();
    for (uint32_t s = 0; s < P; ++s) {
      threads.emplace_back([&, s] {
        exec_set_threads(omp_threads);
        StageWorkerSetup setup = MakeSetup(schedule, cfg, s, *ranges, result.params.data(), grads.data(),
                                           data, endpoints[s].get(), locked ? &*locked : nullptr, origin);
        status[s] = RunStageWorker(setup, &result.stages[s]);
        if (!status[s].ok()) endpoints[s]->Abort(fmt::format("stage {} failed", s));
      });
    }
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - origin).count();
  // Report the root cause: the first stage that failed on its own, not one told to abort.
  for (const Status& st : status)
    if (!st.ok() && st.code() != Status::Code::kFailedPrecondition) return st;
  for (const Status& st : status)
    if (!st.ok()) return st;
  result.updates = result.stages[P - 1].updates;
  result.val_loss = EvaluateLoss(cfg.train.model, result.params.data(), data.val, cfg.train.B,
                                 cfg.train.eval_batches);
  return result;
}

Result<PipelineResult> TrainPipelineStage(const ir::Schedule& schedule, const PipelineConfig& cfg,
                                          const DataSplit& data, Transport& transport,
                                          TraceSink* sink) {
  Result<std::vector<LayerRange>> ranges = PlanPipeline(schedule, cfg);
  if (!ranges.ok()) return ranges.status();
  PACI_RETURN_IF_ERROR(train_data_check(cfg.train, data));
  const uint32_t P = schedule.spec().stages(), s = transport.stage();
  if (transport.stages() != P)
    return Status::InvalidArgument(fmt::format("--stages {} but the job has {} ranks", P, transport.stages()));
  PipelineResult result;
  result.partition = *ranges;
  result.params = InitialParams(cfg.train.model, cfg.train.seed);
  std::vector<float> grads(result.params.size(), 0.0f);
  result.stages.resize(1);
  const auto origin = std::chrono::steady_clock::now();
  StageWorkerSetup setup = MakeSetup(schedule, cfg, s, *ranges, result.params.data(), grads.data(),
                                     data, &transport, sink, origin);
  PACI_RETURN_IF_ERROR(RunStageWorker(setup, &result.stages[0]));
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - origin).count();
  result.updates = result.stages[0].updates;
  // Gather the trained slices on the last stage, which evaluates the whole model.
  const ParamLayout layout = gpt_param_layout(cfg.train.model);
  for (uint32_t v = s; v < ranges->size(); v += P) {
    const LayerRange r = (*ranges)[v];
    float* begin = result.params.data() + layout.layer_offset[r.first];
    const size_t n = layout.layer_offset[r.last] - layout.layer_offset[r.first];
    if (s + 1 == P) continue;
    PACI_RETURN_IF_ERROR(transport.Send(P - 1, WeightsKey(v), std::span<const float>(begin, n)));
  }
  if (s + 1 == P) {
    for (uint32_t v = 0; v < ranges->size(); ++v) {
      if (v % P == s) continue;
      std::vector<float> slice;
      PACI_RETURN_IF_ERROR(transport.Recv(v % P, WeightsKey(v), &slice, cfg.recv_timeout));
      std::copy(slice.begin(), slice.end(),
                result.params.begin() + static_cast<ptrdiff_t>(layout.layer_offset[(*ranges)[v].first]));
    }
    result.val_loss = EvaluateLoss(cfg.train.model, result.params.data(), data.val, cfg.train.B,
                                   cfg.train.eval_batches);
  }
  PACI_RETURN_IF_ERROR(transport.Flush());
  return result;
}

}  // namespace paci::exec
