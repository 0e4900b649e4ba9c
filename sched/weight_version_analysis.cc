#include "sched/weight_version_analysis.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <unordered_map>

#include "sched/expanded_schedule.h"
#include "sched/pipeline_spec.h"
#include "sched/schedule_text.h"

namespace paci {
namespace {

struct InFlight {
  int64_t forward_version = 0;
  int64_t held_version = -1;  // version kept for this micro-batch's backward (stash, 2BW); -1 none
  bool input_grad_done = false;
};

// Walks one stage's stream and keeps only the micro-batches in flight there.
class StageAnalysis {
 public:
  StageAnalysis(const ir::PipelineSpec& spec, const ir::StageStream& stream)
      : P_(spec.stages()), K_(std::max<uint32_t>(1, spec.accum())) {
    stats_.stage = stream.stage();
    stats_.policy = stream.weight_policy();
    if (stats_.policy == ir::LIVE_BOUNDED_DRIFT) {
      const int64_t window = StageWindow(spec, stream.stage());
      stats_.drift_bound = (window - 1 + K_ - 1) / K_;
    }
  }

  Status Visit(const PlainOp& op, const VersionVisitor& visit) {
    switch (op.kind) {
      case ir::FORWARD: return Forward(op);
      case ir::BACKWARD:
      case ir::BACKWARD_INPUT: return Backward(op, visit);
      case ir::BACKWARD_WEIGHT: return WeightGrad(op);
      case ir::OPTIMIZER_STEP: ApplyGradients(); ++live_; ++stats_.optimizer_steps; break;
      default: break;
    }
    Measure();
    return Status::Ok();
  }

  Result<StageVersionStats> Finish() {
    if (!inflight_.empty())
      return Status::FailedPrecondition(fmt::format(
          "stage {}: {} micro-batch(es) never finish their backward", stats_.stage, inflight_.size()));
    stats_.mean_drift = stats_.backwards ? double(drift_sum_) / double(stats_.backwards) : 0.0;
    stats_.mean_gradient_staleness =
        stats_.applied_gradients ? double(staleness_sum_) / double(stats_.applied_gradients) : 0.0;
    if (stats_.weight_versions == 0) stats_.weight_versions = 1;
    return stats_;
  }

 private:
  static uint64_t Key(const PlainOp& op) { return (op.micro_batch << 8) | op.chunk; }

  Status Error(const PlainOp& op, const std::string& why) const {
    return Status::FailedPrecondition(
        fmt::format("stage {}: op {} (id {}): {}", op.stage, OpText(op, P_), op.id, why));
  }

  Status Forward(const PlainOp& op) {
    InFlight f;
    f.forward_version = ForwardVersionOf(stats_.policy, op.micro_batch, K_, live_);
    if (stats_.policy == ir::STASH || stats_.policy == ir::DOUBLE_BUFFER) f.held_version = f.forward_version;
    if (stats_.policy == ir::DOUBLE_BUFFER) {
      if (f.forward_version > live_)
        return Error(op, fmt::format("double buffer would use version {} before it exists (live {})",
                                     f.forward_version, live_));
    }
    if (!inflight_.emplace(Key(op), f).second) return Error(op, "second forward of this micro-batch");
    if (f.held_version >= 0) ++held_[f.held_version];
    ++activations_;
    if (stats_.peak_records_per_chunk.size() <= op.chunk) {
      stats_.peak_records_per_chunk.resize(op.chunk + 1, 0);
      records_.resize(op.chunk + 1, 0);
    }
    stats_.peak_records_per_chunk[op.chunk] = std::max(stats_.peak_records_per_chunk[op.chunk], ++records_[op.chunk]);
    stats_.peak_inflight = std::max(stats_.peak_inflight, activations_);
    Measure();
    return Status::Ok();
  }

  Status Backward(const PlainOp& op, const VersionVisitor& visit) {
    auto it = inflight_.find(Key(op));
    if (it == inflight_.end() || it->second.input_grad_done) return Error(op, "backward without its forward");
    InFlight& f = it->second;
    const int64_t used = BackwardVersionOf(stats_.policy, f.forward_version, live_);
    if (stats_.policy == ir::DOUBLE_BUFFER && used < live_ - 1)
      return Error(op, fmt::format("double buffer no longer holds version {} (live {})", used, live_));
    MicroBatchVersions r{op.stage, op.chunk, op.micro_batch, f.forward_version, used, used - f.forward_version};
    Record(r);
    if (visit) visit(r);
    unapplied_.push_back(f.forward_version);
    --activations_;
    if (op.kind == ir::BACKWARD) {
      Release(it);
    } else {
      f.input_grad_done = true;
      ++pending_w_;
      stats_.peak_pending_weight_grads = std::max(stats_.peak_pending_weight_grads, pending_w_);
    }
    Measure();
    return Status::Ok();
  }

  Status WeightGrad(const PlainOp& op) {
    auto it = inflight_.find(Key(op));
    if (it == inflight_.end() || !it->second.input_grad_done) return Error(op, "W without its I");
    --pending_w_;
    Release(it);
    Measure();
    return Status::Ok();
  }

  void Release(std::unordered_map<uint64_t, InFlight>::iterator it) {
    --records_[static_cast<uint32_t>(it->first & 0xff)];  // Key(): the chunk is the low byte
    const int64_t held = it->second.held_version;
    if (held >= 0 && --held_[held] == 0) held_.erase(held);
    inflight_.erase(it);
  }

  void Record(const MicroBatchVersions& r) {
    ++stats_.backwards;
    drift_sum_ += r.drift;
    stats_.max_drift = std::max(stats_.max_drift, r.drift);
    const size_t d = static_cast<size_t>(std::max<int64_t>(0, r.drift));
    if (stats_.histogram.size() <= d) stats_.histogram.resize(d + 1, 0);
    ++stats_.histogram[d];
  }

  // The step about to run updates version live_ with every gradient accumulated since the last one.
  void ApplyGradients() {
    for (int64_t forward_version : unapplied_) {
      const int64_t staleness = live_ - forward_version;
      stats_.max_gradient_staleness = std::max(stats_.max_gradient_staleness, staleness);
      staleness_sum_ += staleness;
      ++stats_.applied_gradients;
    }
    unapplied_.clear();
  }

  // Versions held now: those kept for in-flight backwards plus the live one.
  void Measure() {
    const uint32_t held = static_cast<uint32_t>(held_.size() + (held_.count(live_) ? 0 : 1));
    stats_.weight_versions = std::max(stats_.weight_versions, held);
  }

  uint32_t P_;
  uint64_t K_;
  StageVersionStats stats_;
  int64_t live_ = 0, drift_sum_ = 0, staleness_sum_ = 0;
  std::vector<int64_t> unapplied_;  // forward versions of gradients no step has applied yet
  uint32_t activations_ = 0, pending_w_ = 0;
  std::vector<uint32_t> records_;  // per chunk: records held now
  std::unordered_map<uint64_t, InFlight> inflight_;
  std::map<int64_t, uint32_t> held_;  // version -> in-flight micro-batches holding it
};

}  // namespace

Result<WeightVersionReport> AnalyzeWeightVersions(const ir::Schedule& schedule,
                                                  const VersionVisitor& visit) {
  WeightVersionReport report;
  const std::vector<uint64_t> bases = StageIdBases(schedule);
  for (int s = 0; s < schedule.streams_size(); ++s) {
    StageAnalysis stage(schedule.spec(), schedule.streams(s));
    for (StageOpCursor c(schedule.streams(s), bases[s]); !c.Done(); c.Next())
      PACI_RETURN_IF_ERROR(stage.Visit(c.Current(), visit));
    Result<StageVersionStats> stats = stage.Finish();
    if (!stats.ok()) return stats.status();
    report.stages.push_back(*stats);
  }
  return report;
}

}  // namespace paci
