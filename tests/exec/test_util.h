// Helpers shared by the exec tests: random parameters large enough to exercise every
// nonlinearity, and a small generated English-like corpus.
#pragma once

#include <string>
#include <vector>

#include "exec/model/gpt.h"
#include "exec/model/rng.h"

namespace paci::exec::testing {

// Matrices N(0, 0.3), LayerNorm weights 1 + N(0, 0.1), biases N(0, 0.1): far from the nanoGPT init
// so that attention is not uniform and GELU is not linear in the gradient checks.
inline void random_params(const ParamLayout& L, uint64_t seed, std::vector<float>* p) {
  Rng r{seed};
  p->assign(L.total, 0.0f);
  for (const ParamSpec& s : L.tensors) {
    const bool ln_w = s.shape.size() == 1 && s.name.find("ln_") != std::string::npos && s.name.ends_with("weight");
    for (size_t i = 0; i < s.numel; i++) {
      const float z = rng_normal(&r);
      (*p)[s.offset + i] = s.shape.size() >= 2 ? 0.3f * z : (ln_w ? 1.0f + 0.1f * z : 0.1f * z);
    }
  }
}

// Deterministic pseudo-English: words drawn from a small list, so a model can learn it quickly.
inline std::string make_corpus(size_t bytes, uint64_t seed) {
  static const char* kWords[] = {"the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "to",
                                 "big", "red", "house", "in", "sun", "was", "very", "happy", "."};
  Rng r{seed};
  std::string s;
  while (s.size() < bytes) {
    s += kWords[rng_below(&r, sizeof(kWords) / sizeof(kWords[0]))];
    s += ' ';
  }
  s.resize(bytes);
  return s;
}

}  // namespace paci::exec::testing
