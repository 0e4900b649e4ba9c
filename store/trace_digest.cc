#include "store/trace_digest.h"

namespace paci::store {

// Word at a time: a replay hashes millions of ops, and this only has to notice a difference.
void TraceDigest::Mix(uint64_t v) {
  hash_ ^= v;
  hash_ *= 0x9e3779b97f4a7c15ull;
  hash_ ^= hash_ >> 29;
}

void TraceDigest::Add(const ir::TraceEvent& e) {
  ++ops_;
  for (uint64_t v : {e.op_id(), uint64_t{e.stage()}, uint64_t{e.chunk()}, e.micro_batch(),
                     static_cast<uint64_t>(e.kind()), static_cast<uint64_t>(e.lane()),
                     static_cast<uint64_t>(e.start_ns()), static_cast<uint64_t>(e.end_ns()),
                     static_cast<uint64_t>(e.weight_version()), e.live_bytes()}) {
    Mix(v);
  }
}

void TraceDigest::Add(const ir::MemorySample& s) {
  Mix(~uint64_t{0});  // a separator, so a sample never hashes like an op field
  for (uint64_t v : {uint64_t{s.stage()}, static_cast<uint64_t>(s.time_ns()), s.live_bytes()}) Mix(v);
}

}  // namespace paci::store
