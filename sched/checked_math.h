// The one arithmetic rule for numbers a user or a file supplies (issue 25): every product or sum
// of them goes through CheckedMul/CheckedAdd (or CheckedProduct, which also names the limit), so
// nothing wraps into a plausible-looking result; every float is checked finite and in range
// (CheckRange) before it is used. Header-only, so every layer above proto/ can share it.
#pragma once

#include <cmath>
#include <cstdio>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <type_traits>

#include "proto/status.h"

namespace paci {

// a x b, or nullopt when it does not fit T.
template <typename T>
std::optional<T> CheckedMul(T a, T b) {
  static_assert(std::is_integral_v<T>);
  T r;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

// a + b, or nullopt when it does not fit T.
template <typename T>
std::optional<T> CheckedAdd(T a, T b) {
  static_assert(std::is_integral_v<T>);
  T r;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

// The product of `factors` when it is at most `limit`; otherwise an error naming `what` (the
// flags multiplied, e.g. "--schedules x --accum x --lr x --seeds") and the limit's name.
inline Result<uint64_t> CheckedProduct(std::initializer_list<uint64_t> factors, uint64_t limit,
                                       const std::string& what, const std::string& limit_name) {
  uint64_t p = 1;
  for (uint64_t f : factors) {
    const std::optional<uint64_t> next = CheckedMul(p, f);
    if (!next || *next > limit)
      return Status::InvalidArgument(what + ": the product is beyond the limit " + limit_name + " of " +
                                     std::to_string(limit));
    p = *next;
  }
  return p;
}

// x is finite and in [lo, hi] (or (lo, hi] with lo_open); the error names `what` and the range.
inline Status CheckRange(double x, double lo, double hi, const std::string& what, bool lo_open = false) {
  if (std::isfinite(x) && (lo_open ? x > lo : x >= lo) && x <= hi) return Status::Ok();
  char range[96];  // no fmt here: this header is included by libraries that do not link it
  std::snprintf(range, sizeof(range), "%s%g, %g], got %g", lo_open ? "(" : "[", lo, hi, x);
  return Status::InvalidArgument(what + ": must be a finite number in " + range);
}

}  // namespace paci
