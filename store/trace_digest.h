// TraceDigest: a 64-bit fingerprint (multiply-xorshift over 64-bit words) of a run's ops and memory samples in the order an
// engine reported them. A predicted run stored compactly keeps only its digest and op count;
// re-simulating it must reproduce both, or the reader refuses the result (a simulator that
// changed since the run was stored would otherwise show different ops under the same run id).
#pragma once

#include <cstdint>

#include "paci.pb.h"

namespace paci::store {

class TraceDigest {
 public:
  void Add(const ir::TraceEvent& e);
  void Add(const ir::MemorySample& s);
  uint64_t value() const { return hash_; }
  int64_t ops() const { return ops_; }

 private:
  void Mix(uint64_t v);
  uint64_t hash_ = 14695981039346656037ull;
  int64_t ops_ = 0;
};

}  // namespace paci::store
