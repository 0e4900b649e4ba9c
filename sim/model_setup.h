// The inputs that name a model-and-hardware cost model (a model name or file, a hardware name or
// file, or a measured profile; the link, micro-batch size, precision, memory cap, co-location)
// as plain strings and numbers, and the one function that reads them into a ModelCostSetup.
// `paci simulate|sweep|predict` (tools/model_flags.cc) and the viewer's explorer both call it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "proto/status.h"
#include "sim/model_cost.h"

namespace paci::sim {

struct ModelCostInputs {
  std::string model;       // gpt2, gpt2-medium, gpt2-large, gpt2-xl or a JSON file; empty: none
  std::string hardware;    // a100, h100, h200, cpu or a JSON file; empty with a profile
  std::string link;        // nvlink4, pcie5, ib-ndr or a JSON file; empty: an ideal link
  std::string profile;     // a `paci profile` file (instead of hardware)
  std::string precision;   // fp32 or bf16; empty: bf16 on GPUs, fp32 on cpu, a profile's own
  std::string calibrate;   // a profile that fits the hardware's efficiencies
  // Shape overrides (on top of `model`'s, or the whole shape without a model).
  std::optional<uint32_t> layers, dim, heads, seq, vocab;
  uint32_t microbatch_size = 0;          // 0: 8, or a profile's own
  std::optional<double> memory_cap_gb;   // unset: the device's memory (none with a profile)
  bool colocate = false;                 // every stage on one device (needs a profile)
  bool operator==(const ModelCostInputs&) const = default;
};

// Reads the inputs; errors name the flag the command line gives each field (--hardware, ...) and
// the file or value at fault.
Result<ModelCostSetup> ModelSetupFromInputs(const ModelCostInputs& in);

}  // namespace paci::sim
