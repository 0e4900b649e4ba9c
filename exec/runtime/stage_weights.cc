#include "exec/runtime/stage_weights.h"

#include <algorithm>

namespace paci::exec {

StageWeights::StageWeights(ir::WeightPolicy policy, std::vector<WeightSpan> spans, uint32_t accum)
    : policy_(policy), spans_(std::move(spans)), accum_(accum == 0 ? 1 : accum) {}

int64_t StageWeights::GroupVersion(uint64_t mb) const {
  const int64_t group = static_cast<int64_t>((mb + accum_ - 1) / accum_);  // t, 1-based
  return std::max<int64_t>(0, group - 2);
}

int64_t StageWeights::BeginForward(uint64_t mb, uint32_t chunk) {
  const int64_t v = policy_ == ir::DOUBLE_BUFFER ? GroupVersion(mb) : live_version_;
  forward_version_[{mb, chunk}] = v;
  return v;
}

int64_t StageWeights::ForwardVersion(uint64_t mb, uint32_t chunk) const {
  auto it = forward_version_.find({mb, chunk});
  return it == forward_version_.end() ? -1 : it->second;
}

int64_t StageWeights::BackwardVersion(uint64_t mb, uint32_t chunk) const {
  switch (policy_) {
    case ir::STASH: return ForwardVersion(mb, chunk);
    case ir::DOUBLE_BUFFER: return GroupVersion(mb);
    default: return live_version_;
  }
}

const float* StageWeights::Weights(uint32_t chunk, int64_t version) const {
  if (version == live_version_) return spans_[chunk].live;
  auto it = copies_.find(version);
  return it == copies_.end() ? nullptr : it->second[chunk].data();
}

bool StageWeights::VersionInUse(int64_t version) const {
  for (const auto& [key, v] : forward_version_)
    if (v == version) return true;
  return false;
}

void StageWeights::EndBackward(uint64_t mb, uint32_t chunk) {
  forward_version_.erase({mb, chunk});
  if (policy_ != ir::STASH) return;
  for (auto it = copies_.begin(); it != copies_.end();)
    it = VersionInUse(it->first) ? std::next(it) : copies_.erase(it);
}

void StageWeights::BeforeStep() {
  // 2BW keeps the version being replaced for the groups still running at it; PipeDream keeps it
  // while any in-flight micro-batch's forward used it.
  const bool keep = policy_ == ir::DOUBLE_BUFFER || (policy_ == ir::STASH && VersionInUse(live_version_));
  if (!keep) return;
  std::vector<std::vector<float>>& copy = copies_[live_version_];
  copy.clear();
  for (const WeightSpan& s : spans_) copy.emplace_back(s.live, s.live + s.size);
}

void StageWeights::AfterStep() {
  ++live_version_;
  if (policy_ == ir::DOUBLE_BUFFER) {
    // Only the version right below the live one can still be asked for.
    for (auto it = copies_.begin(); it != copies_.end();)
      it = it->first < live_version_ - 1 ? copies_.erase(it) : std::next(it);
  }
}

int StageWeights::VersionsHeld() const { return 1 + static_cast<int>(copies_.size()); }

uint64_t StageWeights::CopyBytes() const {
  uint64_t bytes = 0;
  for (const auto& [v, chunks] : copies_)
    for (const auto& c : chunks) bytes += c.size() * sizeof(float);
  return bytes;
}

}  // namespace paci::exec
