// CostModelFit: derives a simulator cost model from a measured run (the executor's trace of the
// same IR), so the simulator can replay the run and its prediction be compared op by op. Per
// stage: the mean measured duration of each compute op kind; per link: the median delay from a
// send's start to the matching receive's end when the receiver was already waiting.
#pragma once

#include <vector>

#include "paci.pb.h"
#include "proto/status.h"

namespace paci::sim {

// `base` supplies what a trace cannot show (bytes of weights, activations, optimizer state, tokens
// per micro-batch); its times are replaced. Error when the trace lacks a compute op kind the
// schedule needs on some stage.
Result<ir::CostModel> FitCostModel(const ir::Schedule& schedule,
                                   const std::vector<ir::TraceEvent>& measured,
                                   const ir::CostModel& base);

}  // namespace paci::sim
