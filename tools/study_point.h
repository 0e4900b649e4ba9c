// The study point `paci train ARGS` will train, read by train's own flag parser (ReadTrainArgs), so
// `paci study` knows a grid point's identity before it trains it. The identity itself and its
// reading from a stored run are study/study_point.h.
#pragma once

#include <string>
#include <vector>

#include "proto/status.h"
#include "study/study_point.h"

namespace paci::cli {

// The point `paci train ARGS` will train (args after "train"); refuses what train would refuse
// before training (CheckTrainArgs), naming the flag.
Result<study::StudyPoint> PointOfTrainArgs(const std::vector<std::string>& args);

}  // namespace paci::cli
