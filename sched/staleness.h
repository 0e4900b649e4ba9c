// Staleness compensation: how a schedule whose weights move under a micro-batch (PACI and PipeMare
// between its forward and backward; PipeDream, 2BW and those two before its gradient is applied)
// corrects for it without a weight stash. The kinds, the one parameter each takes, the text form
// `NAME[=X]` of `--staleness` and of schedule variants ("paci+rewind=1"), which schedules each
// applies to and what it costs. The formulas are docs/method.md §9; the executor applies them
// (exec/runtime/staleness_math.h), the simulator costs them (sim/staleness_cost.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proto/status.h"

namespace paci {

enum class StalenessKind {
  kNone,
  kDriftLrScale,  // each step's lr / (1 + A x the mean drift of the micro-batches it applies)
  kStageLr,       // stage s's lr / (1 + A x its drift bound), fixed for the run
  kRewind,        // backward at w + A x d x step: the weights the forward saw, d updates ago
  kPredict,       // forward at w - A x d x step: the weights its backward will see, d ahead
  kDelayComp,     // gradient + A x g^2 / sqrt(v) x (w_now - w_then), DC-ASGD with Adam's v
};

struct Staleness {
  StalenessKind kind = StalenessKind::kNone;
  double param = 0;  // A above; every kind's default is 1
  bool on() const { return kind != StalenessKind::kNone; }
};

// A parameter beyond this (or not finite) is refused: it only makes NaN losses.
inline constexpr double kMaxStalenessParam = 1000;

// "none", "drift-lr-scale", "stage-lr", "rewind", "predict", "delay-comp".
std::string_view StalenessName(StalenessKind kind);
// Every name, for help texts: "none|drift-lr-scale|...".
std::string StalenessNames();

// "rewind", "rewind=0.5" (the flag's value). Errors name `flag` and the accepted forms.
Result<Staleness> ParseStaleness(std::string_view text, std::string_view flag = "--staleness");
// "rewind=1", "delay-comp=0.5"; "none" without one. ParseStaleness reads it back.
std::string StalenessText(const Staleness& s);

// What a kind needs of the schedule to mean anything: weights that move between a micro-batch's
// forward and backward (drift > 0 somewhere), or a gradient applied to weights newer than its
// forward's (gradient staleness > 0 somewhere). The tools refuse it where that is absent.
bool NeedsDrift(StalenessKind kind);
bool NeedsStaleGradient(StalenessKind kind);
// Rewind and predict estimate weights the way PipeMare's own correction does: not both.
bool ConflictsWithPipeMare(StalenessKind kind);
// Kinds the CUDA backend runs (the lr-only ones); the others are refused there for now.
bool RunsOnCuda(StalenessKind kind);

// Its cost: extra floats read or written per parameter of the stage, per forward, per backward
// (only those with a drift > 0 do the work) and per optimizer step, and whether it holds a
// one-layer weight estimate while an op runs (transient memory; no persistent byte is added).
struct StalenessCost {
  double forward_floats_per_param = 0;
  double backward_floats_per_param = 0;
  double optimizer_floats_per_param = 0;
  bool layer_estimate = false;
};
StalenessCost CostOf(StalenessKind kind);

// A schedule and its compensation, as sweeps, studies and reports name them: "paci+rewind=1".
// A bare schedule name has kind kNone; an unknown schedule name is an error.
struct ScheduleVariant {
  std::string schedule;
  Staleness staleness;
};
Result<ScheduleVariant> ParseScheduleVariant(std::string_view text);
std::string ScheduleVariantText(const ScheduleVariant& v);

}  // namespace paci
