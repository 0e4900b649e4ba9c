// Model-and-hardware flags shared by `paci simulate`, `paci sweep` and `paci predict`: a model
// (--model NAME|FILE or --layers/--dim/--heads/--seq/--vocab), --microbatch-size, --precision,
// and its costs from --hardware NAME|FILE or a measured --profile FILE, the --link between stages,
// the partitioner's --memory-cap-gb and --colocate, read by sim::ModelSetupFromInputs (the viewer's
// explorer reads its controls with the same function). They replace the hand-typed --fwd-ms family:
// giving both is refused, naming the flags.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <utility>
#include <vector>

#include "proto/status.h"
#include "sim/model_cost.h"
#include "tools/sim_flags.h"

namespace paci::cli {

struct ModelFlags {
  std::string model, hardware, link, profile, precision, calibrate;
  uint32_t layers = 0, dim = 0, heads = 0, seq = 0, vocab = 0;
  uint32_t microbatch_size = 0;
  double memory_cap_gb = -1;
  bool colocate = false;
  std::vector<std::pair<std::string, CLI::Option*>> given;
};

// `with_shape`: also add --layers, --dim, --heads, --seq, --vocab, --microbatch-size (commands
// that have their own model flags leave them out).
void AddModelFlags(CLI::App* cmd, ModelFlags* f, bool with_shape = true);

// True when any model flag was given (the costs then come from the model).
bool ModelFlagsGiven(const ModelFlags& f);

// Resolves the flags into a setup; errors (exit 2) name the flag or file. `cost` (may be null):
// the hand-typed cost flags, refused when given together with model flags.
Result<sim::ModelCostSetup> ModelSetupFromFlags(const ModelFlags& f, const CostFlags* cost);

// One line describing the setup, e.g. "gpt2-medium b=8 bf16 on h100, nvlink4".
std::string DescribeSetup(const ModelFlags& f, const sim::ModelCostSetup& s);

}  // namespace paci::cli
