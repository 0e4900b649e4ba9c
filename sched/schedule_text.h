// Readable text form of a schedule: a `spec` line, then one line per stage. Ops are written like
// PyTorch pipelining's actions ("0F3", "1SEND_B2", "5I4") but with our 1-based micro-batches; the
// leading number is the virtual stage chunk * P + stage, so the chunk shows when V > 1.
// The parser reads back what the writer writes (both explicit and compact forms).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "paci.pb.h"
#include "proto/status.h"
#include "sched/expanded_schedule.h"

namespace paci {

struct TextOptions {
  // Keep the repeated body as `( ... )xR+S` (R repeats, micro-batch stride S) instead of writing
  // every op; the text then stays small for runs of any length.
  bool compact = false;
  // Write SEND/RECV ops. Without them the text is easier to read but no longer the whole IR.
  bool with_comms = true;
};

// "0F3": virtual stage, op code (ir_names.h), micro-batch. OPT ops: "<stage>OPT<micro-batch>".
std::string OpText(const PlainOp& op, uint32_t stages);

std::string FormatScheduleText(const ir::Schedule& schedule, const TextOptions& options = {});

// Parses the text form. Without a `spec` line the spec is inferred (P from the stage lines, V and
// the run length from the ops). Explicit streams get dense stage-major ids; compact ones keep 0.
// Errors read "<source>:<line>: ...".
Result<ir::Schedule> ParseScheduleText(std::string_view text, std::string_view source = "<text>");

}  // namespace paci
