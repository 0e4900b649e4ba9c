// FaultInjectingTransport: wraps a stage's Transport to play a failing peer in tests and drills:
// after `after_sends` sends it either exits the process (a rank that dies) or silently drops
// every further send (a peer that never answers). The rest of the pipeline must then end with a
// clear error within its receive timeout. Selected by `paci train --inject-fault`.
// FaultInjectingBackend: wraps a stage's StageBackend to play a device error (a failing CUDA
// call, which the CUDA backend turns into a Status): after `after_sends` ops its next op fails,
// returning the error where the method returns a Status and leaving it in Failure() otherwise.
// The stage must end with that error and the run fail, its peers told to stop, the process alive.
#pragma once

#include <memory>
#include <string>

#include "exec/runtime/stage_backend.h"
#include "exec/runtime/transport.h"

namespace paci::exec {

struct FaultSpec {
  enum class Kind { kNone, kCrash, kHang, kDevice };
  Kind kind = Kind::kNone;
  uint32_t stage = 0;
  uint64_t after_sends = 0;  // crash, hang: sends that go out first; device: ops that succeed first
};

// Parses "crash:STAGE:SENDS", "hang:STAGE:SENDS" or "device:STAGE:OPS"; the error names the flag.
Result<FaultSpec> ParseFaultSpec(const std::string& text);

// The transport for this stage: `inner` itself when the fault is for another stage or the device.
std::unique_ptr<Transport> WrapWithFault(std::unique_ptr<Transport> inner, const FaultSpec& fault);

// The backend for `stage`: `inner` itself unless the fault is a device fault of this stage.
std::unique_ptr<StageBackend> WrapBackendWithFault(std::unique_ptr<StageBackend> inner, uint32_t stage,
                                                   const FaultSpec& fault);

}  // namespace paci::exec
