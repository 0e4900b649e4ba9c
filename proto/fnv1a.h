// FNV-1a, 64 bits: the one byte-string fingerprint the libraries share (a corpus by content, the
// weights an optimizer file was saved beside). A label for telling files apart, not a defence.
#pragma once

#include <cstddef>
#include <cstdint>

namespace paci {

inline constexpr uint64_t kFnv1a64Basis = 14695981039346656037ull;

// Continues the fingerprint `h` over `n` bytes at `data`; start from kFnv1a64Basis.
inline uint64_t Fnv1a64(const void* data, size_t n, uint64_t h = kFnv1a64Basis) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ bytes[i]) * 1099511628211ull;
  return h;
}

}  // namespace paci
