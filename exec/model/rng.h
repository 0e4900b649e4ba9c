// A small deterministic random generator (SplitMix64) whose whole state is one uint64, so a
// checkpoint can store it and a resumed run draws the same numbers. Same results on every platform.
#pragma once

#include <cmath>
#include <cstdint>

namespace paci::exec {

struct Rng {
  uint64_t state = 0;
};

inline uint64_t rng_next_u64(Rng* r) {
  uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Uniform in [0, 1) with 24 random bits.
inline float rng_uniform(Rng* r) { return static_cast<float>(rng_next_u64(r) >> 40) / 16777216.0f; }

// Uniform integer in [0, n) (n > 0); the modulo bias is below 2^-40 for the sizes used here.
inline uint64_t rng_below(Rng* r, uint64_t n) { return rng_next_u64(r) % n; }

// Standard normal by Box-Muller (one value per call; simple beats fast for initialisation).
inline float rng_normal(Rng* r) {
  const double u1 = (static_cast<double>(rng_next_u64(r) >> 11) + 1.0) / 9007199254740993.0;
  const double u2 = static_cast<double>(rng_next_u64(r) >> 11) / 9007199254740992.0;
  return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
}

}  // namespace paci::exec
