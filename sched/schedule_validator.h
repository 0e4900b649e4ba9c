// Static checks of a schedule before anything plays it: spec and stream layout, each micro-batch's
// ops exactly once per stage and chunk, their order within a stage, optimizer-step placement,
// send/receive pairing, and freedom from deadlock (an abstract run of all streams).
// Every error names the stage, the op (text form such as `2B5`, plus its id) and the rule broken.
#pragma once

#include "paci.pb.h"
#include "proto/status.h"

namespace paci {

// Rules (their names appear in the error text):
//  spec            ir_version == kIrVersion, one stream per stage, a sane spec (NormalizeSpec
//                  accepts it when the kind is set), a weight policy on every stream;
//  stream-stage    streams[s].stage == s and every op's stage field equals its stream's;
//  op-fields       kind set, chunk < V, micro-batch in 1..N (OPT: 0..N), id 0 or its dense id;
//  exactly-once    every micro-batch 1..N has one F and one B (or one I and one W: zb-h1, or either
//                  form when the kind is unspecified) per stage and chunk; sends/receives once;
//  order           F before its B/I, I before W, RECV before the compute that needs it, SEND after
//                  the compute that produces it (when the schedule has comm ops at all);
//  optimizer       OPT micro-batches increase, follow the backward they apply, match on every stage;
//                  flush policy: nothing in flight; double buffer: the used version is held;
//  pairing         each SEND has exactly one RECV on the peer stage and the reverse;
//  deadlock        all streams can run to the end when a RECV waits for its SEND (or, without
//                  comm ops, a compute op waits for the one it depends on); buffers unbounded.
// Memory is O(P * V * N) bytes; time O(ops * P) at worst.
Status ValidateSchedule(const ir::Schedule& schedule);

}  // namespace paci
