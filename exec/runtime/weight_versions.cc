#include "exec/runtime/weight_versions.h"

#include <algorithm>

#include "sched/weight_version_rule.h"

namespace paci::exec {

int64_t WeightVersions::BeginForward(uint64_t mb, uint32_t chunk) {
  const int64_t v = ForwardVersionOf(policy_, mb, accum_, live_);
  for (InFlight& f : forward_version_) {
    if (f.mb == mb && f.chunk == chunk) {
      f.version = v;
      return v;
    }
  }
  forward_version_.push_back({mb, chunk, v});
  return v;
}

int64_t WeightVersions::ForwardVersion(uint64_t mb, uint32_t chunk) const {
  for (const InFlight& f : forward_version_)
    if (f.mb == mb && f.chunk == chunk) return f.version;
  return -1;
}

int64_t WeightVersions::BackwardVersion(uint64_t mb, uint32_t chunk) const {
  return BackwardVersionOf(policy_, ForwardVersion(mb, chunk), live_);
}

bool WeightVersions::InUse(int64_t version) const {
  for (const InFlight& f : forward_version_)
    if (f.version == version) return true;
  return false;
}

const std::vector<int64_t>& WeightVersions::EndBackward(uint64_t mb, uint32_t chunk) {
  for (size_t i = 0; i < forward_version_.size(); ++i) {
    if (forward_version_[i].mb == mb && forward_version_[i].chunk == chunk) {
      forward_version_.erase(forward_version_.begin() + static_cast<ptrdiff_t>(i));
      break;
    }
  }
  dropped_.clear();
  if (policy_ != ir::STASH) return dropped_;
  for (int64_t v : kept_)
    if (!InUse(v)) dropped_.push_back(v);
  std::erase_if(kept_, [this](int64_t v) { return !InUse(v); });
  return dropped_;
}

bool WeightVersions::KeepBeforeStep() {
  if (!KeepsReplacedVersion(policy_, InUse(live_))) return false;
  const auto at = std::lower_bound(kept_.begin(), kept_.end(), live_);
  if (at == kept_.end() || *at != live_) kept_.insert(at, live_);
  return true;
}

const std::vector<int64_t>& WeightVersions::AfterStep() {
  ++live_;
  dropped_.clear();
  if (policy_ != ir::DOUBLE_BUFFER) return dropped_;
  // Only the version right below the live one can still be asked for.
  for (int64_t v : kept_)
    if (v < live_ - 1) dropped_.push_back(v);
  std::erase_if(kept_, [this](int64_t v) { return v < live_ - 1; });
  return dropped_;
}

}  // namespace paci::exec
