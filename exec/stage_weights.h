// StageWeights: the weight versions one pipeline stage keeps, by the schedule's weight policy
// (proto WeightPolicy), and which version each forward and backward uses:
//   SYNC_AFTER_FLUSH, LIVE_BOUNDED_DRIFT: the live weights (PACI's backward thus pairs the
//     forward's saved activations with the live, already-updated weights: docs/method.md §2.4);
//   STASH (PipeDream): a backward uses the version its forward used, copied before any update;
//   DOUBLE_BUFFER (2BW): micro-batch n of accumulation group t = ceil(n/K) runs F and B at
//     version max(0, t-2), so the stage holds the live version and one older one.
// PipeMare's discrepancy correction (backward at w - d * delta) is applied here too.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "paci.pb.h"

namespace paci::exec {

// One contiguous parameter span of the stage (one per chunk).
struct WeightSpan {
  float* live = nullptr;
  size_t size = 0;
};

class StageWeights {
 public:
  StageWeights(ir::WeightPolicy policy, std::vector<WeightSpan> spans, uint32_t accum);

  int64_t live_version() const { return live_version_; }
  // The version a forward of micro-batch `mb` uses, and records it for the backward.
  int64_t BeginForward(uint64_t mb, uint32_t chunk);
  // The version the backward of `mb` uses (policy rule; see the header comment).
  int64_t BackwardVersion(uint64_t mb, uint32_t chunk) const;
  // Pointer to the weights of `chunk` at `version` (live or a kept copy).
  const float* Weights(uint32_t chunk, int64_t version) const;
  // Called when the backward of `mb` (and its weight-gradient part) is complete.
  void EndBackward(uint64_t mb, uint32_t chunk);
  // Called right before the optimizer updates the live weights in place; afterwards call
  // AfterStep(). Keeps copies the policy still needs.
  void BeforeStep();
  void AfterStep();
  // Forward version recorded for an in-flight micro-batch.
  int64_t ForwardVersion(uint64_t mb, uint32_t chunk) const;
  // Number of weight versions held right now (live + copies), and bytes of the copies.
  int VersionsHeld() const;
  uint64_t CopyBytes() const;

 private:
  int64_t GroupVersion(uint64_t mb) const;
  bool VersionInUse(int64_t version) const;

  ir::WeightPolicy policy_;
  std::vector<WeightSpan> spans_;
  uint32_t accum_;
  int64_t live_version_ = 0;
  std::map<std::pair<uint64_t, uint32_t>, int64_t> forward_version_;  // in flight
  std::map<int64_t, std::vector<std::vector<float>>> copies_;         // version -> per chunk
};

}  // namespace paci::exec
