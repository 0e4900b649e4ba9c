#include "exec/runtime/pipeline_eval.h"

#include <algorithm>

#include "exec/model/stage.h"
#include "exec/model/train.h"

namespace paci::exec {

PipelineEval::PipelineEval(const GPTConfig& model, const std::vector<uint16_t>* val, int B, int batches,
                           int64_t every, uint32_t slices, TraceSink* sink)
    : model_(model), val_(val), B_(B), batches_(batches), every_(every), slices_(slices), sink_(sink) {}

void PipelineEval::AddSlice(int64_t update, size_t offset, std::vector<float> weights) {
  std::lock_guard l(mu_);
  Pending& p = pending_[update];
  if (p.params.empty()) p.params.assign(gpt_param_layout(model_).total, 0.0f);
  std::copy(weights.begin(), weights.end(), p.params.begin() + static_cast<ptrdiff_t>(offset));
  if (++p.slices < slices_) return;
  Result<StageModel> whole = StageModel::Create(model_, 0, gpt_num_layers(model_));
  PACI_CHECK(whole.ok());
  p.val = eval_loss(*whole, p.params.data(), *val_, B_, batches_);
  p.params = {};
  EmitIfComplete(p);
}

void PipelineEval::AddMetric(const ir::UpdateMetric& metric) {
  std::lock_guard l(mu_);
  Pending& p = pending_[static_cast<int64_t>(metric.update())];
  p.metric = metric;
  EmitIfComplete(p);
}

void PipelineEval::EmitIfComplete(Pending& p) {
  if (!p.val || !p.metric) return;
  p.metric->set_val_loss(*p.val);
  done_.push_back(*p.metric);
  if (sink_) sink_->OnUpdate(*p.metric);
}

std::vector<ir::UpdateMetric> PipelineEval::Metrics() const {
  std::lock_guard l(mu_);
  return done_;
}

std::vector<int64_t> PipelineEval::PendingUpdates() const {
  std::lock_guard l(mu_);
  std::vector<int64_t> updates;
  for (const auto& [u, p] : pending_)
    if (!p.params.empty()) updates.push_back(u);
  return updates;
}

std::vector<float> PipelineEval::PartialParams(int64_t update) const {
  std::lock_guard l(mu_);
  auto it = pending_.find(update);
  return it == pending_.end() ? std::vector<float>() : it->second.params;
}

}  // namespace paci::exec
