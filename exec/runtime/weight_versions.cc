#include "exec/runtime/weight_versions.h"

#include "sched/weight_version_rule.h"

namespace paci::exec {

int64_t WeightVersions::BeginForward(uint64_t mb, uint32_t chunk) {
  const int64_t v = ForwardVersionOf(policy_, mb, accum_, live_);
  forward_version_[{mb, chunk}] = v;
  return v;
}

int64_t WeightVersions::ForwardVersion(uint64_t mb, uint32_t chunk) const {
  auto it = forward_version_.find({mb, chunk});
  return it == forward_version_.end() ? -1 : it->second;
}

int64_t WeightVersions::BackwardVersion(uint64_t mb, uint32_t chunk) const {
  return BackwardVersionOf(policy_, ForwardVersion(mb, chunk), live_);
}

bool WeightVersions::InUse(int64_t version) const {
  for (const auto& [key, v] : forward_version_)
    if (v == version) return true;
  return false;
}

std::vector<int64_t> WeightVersions::EndBackward(uint64_t mb, uint32_t chunk) {
  forward_version_.erase({mb, chunk});
  std::vector<int64_t> dropped;
  if (policy_ != ir::STASH) return dropped;
  for (auto it = kept_.begin(); it != kept_.end();) {
    if (InUse(*it)) {
      ++it;
    } else {
      dropped.push_back(*it);
      it = kept_.erase(it);
    }
  }
  return dropped;
}

bool WeightVersions::KeepBeforeStep() {
  if (!KeepsReplacedVersion(policy_, InUse(live_))) return false;
  kept_.insert(live_);
  return true;
}

std::vector<int64_t> WeightVersions::AfterStep() {
  ++live_;
  std::vector<int64_t> dropped;
  if (policy_ != ir::DOUBLE_BUFFER) return dropped;
  // Only the version right below the live one can still be asked for.
  for (auto it = kept_.begin(); it != kept_.end() && *it < live_ - 1;) {
    dropped.push_back(*it);
    it = kept_.erase(it);
  }
  return dropped;
}

}  // namespace paci::exec
