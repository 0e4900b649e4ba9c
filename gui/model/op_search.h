// OpSearch: the timeline's search box. Parses what a person types ("mb 12", "B", "stage 3 F 7",
// "send mb 4", "op 1234") into an OpQuery, finds the ops that match in time order and steps a
// cursor through them (Enter / n forward, N back, wrapping). Plain C++ over a TraceIndex, so the
// syntax and the matches are tested without a widget; the timeline only draws them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gui/model/trace_index.h"
#include "proto/status.h"

namespace paci::gui {

// Every condition given must hold. Without a kind, compute ops only (F, B, I, W, OPT): stepping
// through "mb 12" should land on its forward and backward passes, not on each send and receive.
struct OpQuery {
  std::vector<ir::OpKind> kinds;  // any of them; empty: any compute kind
  std::optional<uint64_t> micro_batch;
  std::optional<uint32_t> stage;
  std::optional<uint32_t> chunk;
  std::optional<uint64_t> op_id;

  bool Matches(const OpSpan& op) const;
};

// Words, separated by spaces or commas, case-insensitive:
//   mb N | microbatch N | N   micro-batch N
//   stage N | s N              stage N (from 0)
//   chunk N                    chunk N (interleaved schedules, from 0)
//   op N                       the op with id N
//   F B I W OPT                op kind; a number right after it is the micro-batch ("F 7", "F7")
//   SEND_F RECV_F SEND_B RECV_B send recv   communication ops
// An empty text or an unknown word is an error naming the word.
Result<OpQuery> ParseOpQuery(std::string_view text);

// Indices into index.ops() of the matching ops, ordered by start time (then stage).
std::vector<size_t> FindOps(const TraceIndex& index, const OpQuery& query);

// The position (into matches) of the first match starting at or after t, else 0: a new search
// starts where the person is looking, not at the run's first op.
size_t FirstMatchFrom(const TraceIndex& index, const std::vector<size_t>& matches, double t);

// The next position from `current` in direction dir (+1 or -1), wrapping; the first (dir > 0) or
// last match when there is no current one. count must be > 0.
size_t StepMatch(size_t count, std::optional<size_t> current, int dir);

}  // namespace paci::gui
