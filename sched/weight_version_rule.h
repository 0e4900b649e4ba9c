// The weight-version rule of each WeightPolicy (method.md 2-4), in one place: which version of its
// stage's weights a forward and a backward use. The schedule analysis, the simulator and the
// executor all ask here. "live" is the number of optimizer steps the stage has done so far.
#pragma once

#include <cstdint>

#include "paci.pb.h"

namespace paci {

// 2BW: micro-batch n of accumulation group t = ceil(n/K) runs F and B at version max(0, t-2).
inline int64_t DoubleBufferVersion(uint64_t micro_batch, uint64_t accum) {
  const int64_t t = static_cast<int64_t>((micro_batch + accum - 1) / accum);
  return t > 2 ? t - 2 : 0;
}

// The version a forward of `micro_batch` uses: the live one, except under double buffering.
inline int64_t ForwardVersionOf(ir::WeightPolicy policy, uint64_t micro_batch, uint64_t accum, int64_t live) {
  return policy == ir::DOUBLE_BUFFER ? DoubleBufferVersion(micro_batch, accum == 0 ? 1 : accum) : live;
}

// The version its backward uses: the forward's under STASH (PipeDream keeps a copy) and
// DOUBLE_BUFFER; the live one under SYNC_AFTER_FLUSH and LIVE_BOUNDED_DRIFT (PACI, PipeMare), so
// a PACI backward pairs the forward's saved activations with the already-updated weights.
inline int64_t BackwardVersionOf(ir::WeightPolicy policy, int64_t forward_version, int64_t live) {
  return policy == ir::STASH || policy == ir::DOUBLE_BUFFER ? forward_version : live;
}

// Whether a stage must keep a copy of the live version before an optimizer step replaces it:
// 2BW always (the groups in flight still run at it); PipeDream while a forward used it.
inline bool KeepsReplacedVersion(ir::WeightPolicy policy, bool version_in_use) {
  return policy == ir::DOUBLE_BUFFER || (policy == ir::STASH && version_in_use);
}

}  // namespace paci
