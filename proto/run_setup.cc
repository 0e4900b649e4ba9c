#include "proto/run_setup.h"

namespace paci {

std::optional<int64_t> TokensPerUpdate(int64_t microbatch_size, int64_t seq, int64_t accum) {
  if (microbatch_size < 0 || seq < 0 || accum < 0) return std::nullopt;
  int64_t per_microbatch = 0, per_update = 0;
  if (__builtin_mul_overflow(microbatch_size, seq, &per_microbatch)) return std::nullopt;
  if (__builtin_mul_overflow(per_microbatch, accum, &per_update)) return std::nullopt;
  return per_update;
}

}  // namespace paci
