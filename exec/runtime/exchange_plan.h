// Exchanges: how a stage's sends and receives are posted to a transport that needs its peers to
// take part (NCCL). An exchange is a run of consecutive SEND/RECV ops in a stage's op stream; the
// stage worker posts each as one group. CheckExchangesCannotDeadlock proves, for one schedule,
// that this posting cannot deadlock even if every send waits for its receive to be posted
// (rendezvous, NCCL's worst case), and that every link's messages pair up in the same order on
// both ends (NCCL matches a peer's messages by order alone, with no header).
#pragma once

#include <cstdint>
#include <vector>

#include "paci.pb.h"
#include "proto/status.h"
#include "sched/expanded_schedule.h"
#include "sched/op_messages.h"

namespace paci::exec {

// One stage's op stream cut into items: a compute op alone, or an exchange (consecutive sends and
// receives). `first`/`count` index the stage's ops.
struct StreamItem {
  size_t first = 0, count = 1;
  bool exchange = false;
};
std::vector<StreamItem> SplitIntoExchanges(const std::vector<PlainOp>& ops);

// Plays every stage's items in order under rendezvous semantics: a compute op always completes;
// an exchange completes once, for each of its sends and receives, the peer has reached the item
// holding the matching op. Fails naming the stuck stages' exchanges if the play stalls, or the
// first link whose k-th send and k-th receive carry different messages. `ops`: every stage's ops
// in the order they are posted.
Status CheckExchangesCannotDeadlock(const std::vector<std::vector<PlainOp>>& ops, uint32_t chunks);
Status CheckExchangesCannotDeadlock(const ir::Schedule& schedule);

// The order each stage posts its ops in over a rendezvous transport (NCCL): the IR's order when
// that cannot deadlock; else, while the play stalls on a send whose receive the peer has not
// reached, that receive is moved up into the exchange the peer is stalled at (a receive needs
// only an idle buffer, so it may be posted early; Megatron pairs interleaved 1F1B's p2p the same
// way). Fails naming the schedule and where it would stall when no receive can move.
Result<std::vector<std::vector<PlainOp>>> PlanExchanges(const ir::Schedule& schedule);

}  // namespace paci::exec
