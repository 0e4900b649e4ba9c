// PyTorch pipelining's CSV schedule format (torch/distributed/pipelining/schedules.py `_dump_csv`,
// `_load_csv`; torchtitan's pipeline_parallel_schedule_csv), so schedules move both ways:
// one row per rank, one action per cell (`2F0`, `1I3`, `0W3`, `0SEND_F1`, `1RECV_B2`), an empty
// cell is an idle step. PyTorch's leading number is the virtual stage index (rank r holds virtual
// stages r, r + P, ... in loop order) and its micro-batches count from 0; ours count from 1.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "paci.pb.h"
#include "proto/status.h"

namespace paci {

enum class CsvFormat {
  kComputeOnly,   // F, B, I, W only (PyTorch's "compute_only", torchtitan's default)
  kComputeComms,  // also SEND_F, RECV_F, SEND_B, RECV_B ("compute_comms")
};

struct CsvImportOptions {
  // Kind recorded in the spec (decides e.g. whether I/W are required); unspecified accepts both.
  ir::ScheduleKind kind = ir::SCHEDULE_KIND_UNSPECIFIED;
  uint32_t accum = 0;  // K for asynchronous kinds (0: NormalizeSpec's default)
  // PyTorch leaves the optimizer step to the caller. Add OPT ops: one at the end of each stage
  // (flush kinds and unspecified) or after every K-th backward (asynchronous kinds).
  bool add_optimizer_steps = true;
  // A compute-only file (no SEND/RECV action) gets a RECV before and a SEND after each compute op
  // that talks to another rank, as PyTorch's runtime lowers it (comm_lowering.h), so stages wait
  // for their inputs. Off: the compute ops alone, as written.
  bool lower_compute_only = true;
};

// OPT ops are left out (PyTorch has no optimizer action). Rows end in "\r\n" like Python's csv.
std::string FormatScheduleCsv(const ir::Schedule& schedule, CsvFormat format);

// Reads either format (comm actions are kept when present; see lower_compute_only). A RECV moves
// to just before the compute op that consumes it, where PyTorch's runtime waits for it. PyTorch's
// older backward names (B = input gradient beside W, BW = full backward) are recognised and read
// as I and B; a file mixing them with I is refused with how to convert. UNSHARD, RESHARD and REDUCE_GRAD
// actions are dropped (no IR meaning yet); OVERLAP_F_B expands into its sub-actions in order.
// A V-shaped stage placement (virtual stage v not on rank v mod P) is rejected.
// Errors read "<source>:<row>:<column>: ...".
Result<ir::Schedule> ParseScheduleCsv(std::string_view text, const CsvImportOptions& options = {},
                                      std::string_view source = "<csv>");

}  // namespace paci
