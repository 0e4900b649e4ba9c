// Cost model files (`paci simulate --cost FILE`): per-stage and per-link costs as JSON or as the
// protobuf text form of ir::CostModel. A text whose first non-blank character is '{' is JSON:
//
//   { "stages": [ {"fwd_ms": 1.0, "bwd_ms": 2.0, "wgrad_ms": 0, "opt_ms": 0.5,
//                  "activation_mb": 512, "wgrad_mb": 0, "weights_mb": 700,
//                  "grad_mb": 700, "optimizer_mb": 1400, "message_mb": 16}, ... ],
//     "links":  [ {"latency_us": 5, "bandwidth_gbps": 400}, ... ],
//     "jitter": {"cv": 0.05, "seed": 1, "straggler_stage": 3, "straggler_factor": 1.5},
//     "tokens_per_microbatch": 8192 }
//
// `stages` has one entry (all stages) or one per stage; `links` none, one, P-1 or P (the last the
// interleaved wrap P-1 -> 0). Every key is optional; grad_mb defaults to weights_mb and
// optimizer_mb to 2 x weights_mb (AdamW). MB = MiB; bandwidth_gbps is Gbit/s (0 = infinite).
// Unknown keys are errors. Otherwise the text is parsed as `ir.CostModel` in protobuf text format
// (times in ns, sizes in bytes, bandwidth in bytes/s), e.g. `stages { forward_ns: 1000000 }`.
#pragma once

#include <string>

#include "paci.pb.h"
#include "proto/status.h"

namespace paci::sim {

// Parses the text of a cost file; errors name the key or line at fault.
Result<ir::CostModel> ParseCostModel(const std::string& text);

// Reads and parses `path`; errors name the file.
Result<ir::CostModel> LoadCostModelFile(const std::string& path);

}  // namespace paci::sim
