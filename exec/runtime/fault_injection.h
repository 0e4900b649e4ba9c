// FaultInjectingTransport: wraps a stage's Transport to play a failing peer in tests and drills:
// after `after_sends` sends it either exits the process (a rank that dies) or silently drops
// every further send (a peer that never answers). The rest of the pipeline must then end with a
// clear error within its receive timeout. Selected by `paci train --inject-fault`.
#pragma once

#include <memory>
#include <string>

#include "exec/runtime/transport.h"

namespace paci::exec {

struct FaultSpec {
  enum class Kind { kNone, kCrash, kHang };
  Kind kind = Kind::kNone;
  uint32_t stage = 0;
  uint64_t after_sends = 0;
};

// Parses "crash:STAGE:SENDS" or "hang:STAGE:SENDS"; the error names the flag.
Result<FaultSpec> ParseFaultSpec(const std::string& text);

// The transport for this stage: `inner` itself when the fault is for another stage.
std::unique_ptr<Transport> WrapWithFault(std::unique_ptr<Transport> inner, const FaultSpec& fault);

}  // namespace paci::exec
