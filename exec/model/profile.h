// Profiling (`paci profile`): measures, with the executor's own layer code, what each GPT layer
// costs for one micro-batch on this machine (forward, backward-input, backward-weight, AdamW step,
// with hot and with cold caches; activation, weight, gradient and message bytes), repeating each
// measurement until the relative standard error of its median is small, checks that the two halves
// of the repetitions agree, and measures how much N stages slow each other down when they share
// the cores as `paci train` places them (co-location). The result is an ir::Profile the simulator
// can cost any split from.
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
  double target_rse = 0.01;  // stop repeating once every median's relative standard error is below
  int min_repetitions = 10;  // enough for the two halves to be compared
  int max_repetitions = 400;
  double max_seconds_per_layer = 3.0;  // budget: layers x this, the layers timed round-robin
  int max_colocated = 0;               // measure co-location for N = 2..max_colocated stages (0: none)
  double colocation_seconds = 2.0;     // per N, roughly (three rounds of alone, then together)
  uint64_t seed = 1;
};

// The most stages a co-location measurement runs at once (each holds a copy of the model) and the
// longest it measures each count: beyond these a measurement only exhausts memory or never ends
// (issue 25: --colocate-seconds nan or 1e308 looped forever). Per-layer budgets share the range.
inline constexpr int kMaxColocated = 256;
inline constexpr double kMaxProfileSeconds = 3600;

// A profile vouches for its numbers when the two halves of its repetitions agree within this per
// op kind (sums over layers) and its ops had at least this share of their CPUs; otherwise its
// `warning` says why not. Two profiles taken back to back are held to the same tolerance.
inline constexpr double kProfileRepeatTolerance = 0.03;
inline constexpr double kProfileMinCpuShare = 0.9;

// The cold timings rotate through enough records of every layer's saved activations to cover
// this many bytes, at most kMaxColdRecords; none when one record of the whole model already
// covers it. Far beyond any core's L2; not always beyond the last level (the 2-vCPU KVM box
// reports a 480 MiB L3, shared with its host), so cold means "L2 lost it", as under GPipe.
inline constexpr double kColdWorkingSetBytes = 128.0 * (1 << 20);
inline constexpr int kMaxColdRecords = 16;
int ColdRecords(const ProfileOptions& o);

// The cold records one round uses, of `records` (>= 1), 0-based: the forward writes `forward`
// (the records in turn) and the backwards read `backward`, written records / 2 rounds earlier, so
// that every record lies untouched about half a cycle before each use, the forward's included.
struct ColdRound {
  int forward = 0, backward = 0;
};
ColdRound ColdRecordsOf(int round, int records);

// The bytes a profile of `o` allocates at its peak, estimated from the shape before anything is
// allocated: every layer's bench at once (weights, gradients, AdamW state, one micro-batch's saved
// activations and their gradients, the cold records), then the co-location's slices (issue 25:
// --dim 65536 --seq 4096 --microbatch-size 64 ran out of memory).
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
