// Adds or removes the SEND/RECV ops around compute ops, like PyTorch pipelining's `_add_send_recv`
// lowering: a schedule written as compute only (hand-written text, a compute_only CSV) becomes one
// the simulator and executor can play, with sends and receives placed as the generators place them.
#pragma once

#include "paci.pb.h"

namespace paci {

// Explicit schedule (ids assigned) with existing comm ops dropped and, per compute op,
// RECV before it and SEND after it (sched/stream_builder.h describes the placement).
ir::Schedule WithCommOps(const ir::Schedule& schedule);

// Explicit schedule without any SEND/RECV op (compute and optimizer steps only).
ir::Schedule WithoutCommOps(const ir::Schedule& schedule);

}  // namespace paci
