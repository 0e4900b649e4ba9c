// Two profiles of one model compared per op kind (`paci profile --profiles N`): the sums over
// layers of each kind's times and the co-location factors, and how far apart they are. A profile
// repeats when every difference is within exec's kProfileRepeatTolerance (3 %).
#pragma once

#include <string>
#include <vector>

#include "paci.pb.h"

namespace paci::sim {

struct KindSum {
  std::string kind;  // "forward", ..., "backward_weight_cold", "co-location 2", ...
  double value = 0;  // ns summed over layers; the slowdown for co-location
};

// The profile's per-kind sums, in a fixed order; cold kinds and co-location only where measured.
std::vector<KindSum> ProfileKindSums(const ir::Profile& profile);

// |a - b| / mean(a, b) for every kind both profiles have, in ProfileKindSums's order.
std::vector<ir::RepeatCheck> CompareProfiles(const ir::Profile& a, const ir::Profile& b);

// Profiles of one model taken back to back, against the first: per kind of the first, the largest
// difference from any other, and a warning naming every kind beyond `tolerance` (empty when none).
struct RepeatSummary {
  std::vector<KindSum> first;  // the first profile's sums
  std::vector<double> worst;   // per kind of `first`
  std::string warning;
};
RepeatSummary SummarizeRepeats(const std::vector<ir::Profile>& profiles, double tolerance);

}  // namespace paci::sim
