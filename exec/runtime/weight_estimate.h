// AdamWeightEstimate: the weights a pass reads under rewind or predict (sched/staleness.h), one
// layer at a time: w + k x AdamW's last step (staleness_math.h) written into one layer-sized
// buffer, so a stage holds one layer of extra memory, never a weight copy. k = 0, an optimizer
// that has not stepped yet, and (for a backward) the embedding, whose backward reads no weights,
// give the weights themselves, unchanged: a compensation with nothing to correct is plain PACI bit
// for bit.
#pragma once

#include <algorithm>
#include <vector>

#include "exec/model/adamw.h"
#include "exec/model/stage.h"
#include "exec/runtime/staleness_math.h"

namespace paci::exec {

class AdamWeightEstimate final : public LayerWeights {
 public:
  // `weights`: the stage's (chunk's) weights the estimate starts from; `opt` its AdamW, `lr` the
  // learning rate of its last step; `buffer` holds the estimate (grown to a layer if needed; a
  // backend reserves it up front). All must outlive the pass.
  // `forward`: the estimate is for a forward pass, which reads every layer's weights.
  AdamWeightEstimate(const StageModel& model, const float* weights, const AdamW& opt, float lr, float k,
                     bool forward, std::vector<float>* buffer)
      : model_(model), weights_(weights), opt_(opt), lr_(lr), k_(k), forward_(forward), buffer_(buffer) {}

  const float* Layer(int layer) const override {
    const size_t first = model_.layout().layer_offset[layer] - model_.param_offset();
    const float* w = weights_ + first;
    if (k_ == 0.0f || opt_.step == 0 || !(forward_ || model_.backward_reads_weights(layer))) return w;
    if (layer == cached_) return buffer_->data();  // the head asks twice per pass
    const size_t n = model_.layer_params(layer);
    buffer_->resize(n);
    adam_weight_estimate(buffer_->data(), w, AdamStepOf(opt_, first, lr_), k_, n);
    cached_ = layer;
    return buffer_->data();
  }

  // The largest layer an estimate is written for, in floats: what a backend reserves.
  static size_t LargestLayer(const StageModel& model, bool forward) {
    size_t n = 0;
    for (int l = model.first(); l < model.last(); ++l)
      if (forward || model.backward_reads_weights(l)) n = std::max(n, model.layer_params(l));
    return n;
  }

 private:
  const StageModel& model_;
  const float* weights_;
  const AdamW& opt_;
  float lr_, k_;
  bool forward_;
  std::vector<float>* buffer_;
  mutable int cached_ = -1;
};

}  // namespace paci::exec
