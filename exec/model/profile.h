// Profiling (`paci profile`): measures, with the executor's own layer code, what each GPT layer
// costs for one micro-batch on this machine (forward, backward-input, backward-weight, AdamW step;
// activation, weight, gradient and message bytes), repeating each measurement until the relative
// standard error of its mean is small, and how much N stages slow each other down when they share
// the cores (co-location). The result is an ir::Profile the simulator can cost any split from.
#pragma once

#include <functional>
#include <string>

#include "exec/model/gpt.h"
#include "paci.pb.h"
#include "proto/status.h"

namespace paci::exec {

struct ProfileOptions {
  GPTConfig model;           // model.block_size is the sequence length T
  int B = 8;                 // micro-batch size
  int threads = 1;           // kernel threads per stage (as `paci train` gives each stage)
  double target_rse = 0.02;  // stop repeating once every mean's relative standard error is below
  int min_repetitions = 5;
  int max_repetitions = 400;
  double max_seconds_per_layer = 3.0;  // budget: layers x this, the layers timed round-robin
  int max_colocated = 0;               // measure co-location for N = 2..max_colocated stages (0: none)
  double colocation_seconds = 1.0;     // per N, roughly
  uint64_t seed = 1;
};

// The most stages a co-location measurement runs at once (each holds a copy of the model) and the
// longest it measures each count: beyond these a measurement only exhausts memory or never ends
// (issue 25: --colocate-seconds nan or 1e308 looped forever). Per-layer budgets share the range.
inline constexpr int kMaxColocated = 256;
inline constexpr double kMaxProfileSeconds = 3600;

// The bytes a profile of `o` allocates at its peak, estimated from the shape before anything is
// allocated: every layer's bench at once (weights, gradients, AdamW state, one micro-batch's saved
// activations and their gradients), then the co-location's max_colocated copies of the whole model
// (issue 25: --dim 65536 --seq 4096 --microbatch-size 64 ran out of memory).
struct ProfileMemory {
  double layers = 0;      // bytes while every layer is timed
  double colocation = 0;  // bytes of the co-location measurement (0 without one)
};
ProfileMemory ProfileBytes(const ProfileOptions& o);

// What a profile may allocate: the machine's physical memory, or the process's address-space
// limit (ulimit -v) when that is lower. MeasureProfile refuses a profile whose ProfileBytes exceed it.
double ProfileMemoryLimit();

// Measures the profile. `progress` (may be empty) receives one line per finished measurement.
Result<ir::Profile> MeasureProfile(const ProfileOptions& options,
                                   const std::function<void(const std::string&)>& progress = {});

}  // namespace paci::exec
