// Co-location as training meets it (`paci profile`): N stage threads, each on the CPUs that
// `paci train --pin auto` gives stage s (unpinned when N stages do not fit, as there), each running
// its own slice of the model with a stage's op mix (forward, backward-input, backward-weight, and
// an optimizer step every few micro-batches), timed alone and all at once in alternating rounds.
// Stages that share CPUs hand micro-batches on to each other as a pipeline's do, so that the
// waits for a time slice after each hand-off are in the factor; their ops are also timed apart
// from the waits (op_stretch), for the simulator's turn-taking model (docs/cost-model.md), and
// on each stage thread's CPU clock (op_cpu_stretch: the work an op gains from sharing, where
// op_stretch also holds the time slices it lost while it ran).
#pragma once

#include "exec/model/profile.h"
#include "paci.pb.h"
#include "proto/status.h"

namespace paci::exec {

// The slowdown of `stages` stages sharing this machine: the sum over stages of the mean step
// time with all running at once, over the sum of their median step times alone; the median of
// the rounds, with their spread as the relative standard error. Unpinned, also op_stretch: the
// same ratio with the ops' times alone, the waits for a turn left out. With one kernel thread per
// stage, also op_cpu_stretch: the ops' CPU time together over alone.
Result<ir::ColocationFactor> MeasureColocation(const ProfileOptions& o, int stages);

// Stage s's layers [first, last) among `stages`, split as evenly as the count allows; with more
// stages than layers, stage s runs layer s % layers.
std::pair<int, int> ColocationSlice(int layers, int stages, int s);

}  // namespace paci::exec
