// Schedule generators: turn a PipelineSpec into per-stage op streams (the IR) for PACI and every
// baseline, following docs/method.md §2-4. Streams include the send and receive
// ops around each forward and backward, and the optimizer steps.
#pragma once

#include "paci.pb.h"
#include "proto/status.h"

namespace paci {

// Normalizes the spec (see pipeline_spec.h) and builds the schedule in compact form
// (prefix, repeated body, suffix), whose size does not grow with the length of the run.
Result<ir::Schedule> GenerateSchedule(const ir::PipelineSpec& spec);

// The weight policy a schedule kind runs with: STASH for pipedream, DOUBLE_BUFFER for
// pipedream-2bw, LIVE_BOUNDED_DRIFT for paci and pipemare, SYNC_AFTER_FLUSH otherwise.
ir::WeightPolicy WeightPolicyFor(ir::ScheduleKind kind);

}  // namespace paci
