#include "exec/runtime/exchange_plan.h"

#include <fmt/format.h>

#include <map>
#include <optional>
#include <string>

#include "proto/ir_names.h"
#include "sched/schedule_text.h"

namespace paci::exec {

std::vector<StreamItem> SplitIntoExchanges(const std::vector<PlainOp>& ops) {
  std::vector<StreamItem> items;
  for (size_t i = 0; i < ops.size(); ++i) {
    const bool message = IsMessageOp(ops[i].kind);
    if (message && !items.empty() && items.back().exchange && items.back().first + items.back().count == i) {
      ++items.back().count;
      continue;
    }
    items.push_back(StreamItem{i, 1, message});
  }
  return items;
}

namespace {

// Where a send or receive sits: its stage and the index of its item there.
struct Place {
  uint32_t stage = 0;
  size_t item = 0;
  size_t index = 0;  // in the stage's ops
  MessageKey key;
  uint64_t op_id = 0;
};

// A receive a stalled play could post earlier: op `index` of `stage` moved to `to`.
struct EarlyReceive {
  uint32_t stage = 0;
  size_t index = 0, to = 0;
};

Status Play(const std::vector<std::vector<PlainOp>>& ops, uint32_t chunks, std::optional<EarlyReceive>* fix);

}  // namespace

Status CheckExchangesCannotDeadlock(const ir::Schedule& schedule) {
  return CheckExchangesCannotDeadlock(ExpandSchedule(schedule), schedule.spec().chunks());
}

Status CheckExchangesCannotDeadlock(const std::vector<std::vector<PlainOp>>& ops, uint32_t chunks) {
  std::optional<EarlyReceive> fix;
  return Play(ops, chunks, &fix);
}

Result<std::vector<std::vector<PlainOp>>> PlanExchanges(const ir::Schedule& schedule) {
  std::vector<std::vector<PlainOp>> ops = ExpandSchedule(schedule);
  size_t total = 0;
  for (const auto& stage : ops) total += stage.size();
  // Each round moves one receive up into the exchange its stage is stalled at; every receive
  // moves at most once per exchange it crosses, so `total` rounds bound the search.
  for (size_t round = 0; round <= total; ++round) {
    std::optional<EarlyReceive> fix;
    const Status st = Play(ops, schedule.spec().chunks(), &fix);
    if (st.ok()) return ops;
    if (!fix)
      return Status::FailedPrecondition(fmt::format("{} cannot run over a rendezvous transport (NCCL): {}",
                                                    ScheduleName(schedule.spec().kind()), st.message()));
    std::vector<PlainOp>& stage = ops[fix->stage];
    const PlainOp moved = stage[fix->index];
    stage.erase(stage.begin() + static_cast<ptrdiff_t>(fix->index));
    stage.insert(stage.begin() + static_cast<ptrdiff_t>(fix->to), moved);
  }
  return Status::Internal("PlanExchanges: no progress");
}

namespace {

Status Play(const std::vector<std::vector<PlainOp>>& ops, uint32_t chunks, std::optional<EarlyReceive>* fix) {
  const uint32_t P = static_cast<uint32_t>(ops.size());
  const uint32_t V = chunks;
  std::vector<std::vector<StreamItem>> items(P);
  // Per directed link (from stage, to stage): its sends and its receives, in stream order.
  std::map<std::pair<uint32_t, uint32_t>, std::vector<Place>> sends, recvs;
  // For every item that is an exchange, the partner place of each of its ops (filled below).
  std::vector<std::vector<std::vector<Place>>> partners(P);
  for (uint32_t s = 0; s < P; ++s) {
    items[s] = SplitIntoExchanges(ops[s]);
    partners[s].resize(items[s].size());
    for (size_t it = 0; it < items[s].size(); ++it) {
      if (!items[s][it].exchange) continue;
      for (size_t i = items[s][it].first; i < items[s][it].first + items[s][it].count; ++i) {
        const PlainOp& op = ops[s][i];
        const std::optional<MessageKey> key = MessageOf(op, P, V);
        if (!key)
          return Status::InvalidArgument(fmt::format("stage {}: {} leaves the pipeline", s, OpText(op, P)));
        const uint32_t from = StageChunkOf(key->from_virtual, P).stage,
                       to = StageChunkOf(key->to_virtual, P).stage;
        (IsSend(op.kind) ? sends : recvs)[{from, to}].push_back(Place{s, it, i, *key, op.id});
      }
    }
  }
  // Pair the k-th send of every link with its k-th receive: NCCL's matching, by order alone.
  for (const auto& [link, out] : sends) {
    const std::vector<Place>& in = recvs[link];
    if (in.size() != out.size())
      return Status::FailedPrecondition(fmt::format("link {} -> {}: {} sends but {} receives", link.first,
                                                    link.second, out.size(), in.size()));
    for (size_t k = 0; k < out.size(); ++k) {
      if (!(out[k].key == in[k].key))
        return Status::FailedPrecondition(
            fmt::format("link {} -> {}: message {} is sent by op {} but received by op {} as another message",
                        link.first, link.second, k, out[k].op_id, in[k].op_id));
      partners[out[k].stage][out[k].item].push_back(in[k]);
      partners[in[k].stage][in[k].item].push_back(out[k]);
    }
  }
  for (const auto& [link, in] : recvs)
    if (!sends.count(link))
      return Status::FailedPrecondition(
          fmt::format("link {} -> {}: receives without sends", link.first, link.second));

  // Rendezvous play: pos[s] is the item stage s has reached (posted, not yet completed).
  std::vector<size_t> pos(P, 0);
  for (bool moved = true; moved;) {
    moved = false;
    for (uint32_t s = 0; s < P; ++s) {
      while (pos[s] < items[s].size()) {
        bool ready = true;
        for (const Place& p : partners[s][pos[s]]) ready = ready && pos[p.stage] >= p.item;
        if (!ready) break;
        ++pos[s];
        moved = true;
      }
    }
  }
  std::string stuck;
  for (uint32_t s = 0; s < P; ++s) {
    if (pos[s] == items[s].size()) continue;
    stuck += fmt::format("{}stage {} at {}", stuck.empty() ? "" : "; ", s,
                         OpText(ops[s][items[s][pos[s]].first], P));
    // A send waiting for a receive the peer has not reached: that receive could be posted in the
    // exchange the peer is stalled at (a stalled stage is always at an exchange).
    for (const Place& p : partners[s][pos[s]]) {
      const StreamItem& at = items[p.stage][pos[p.stage]];
      if (!*fix && pos[p.stage] < p.item && IsRecv(ops[p.stage][p.index].kind))
        *fix = EarlyReceive{p.stage, p.index, at.first + at.count};
    }
  }
  if (!stuck.empty()) return Status::FailedPrecondition("exchanges deadlock under rendezvous: " + stuck);
  return Status::Ok();
}

}  // namespace

}  // namespace paci::exec
