#include "sim/profile_repeat.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace paci::sim {

std::vector<KindSum> ProfileKindSums(const ir::Profile& p) {
  std::vector<KindSum> out = {
      {"forward", 0},      {"backward_input", 0},      {"backward_weight", 0},     {"optimizer", 0},
      {"forward_cold", 0}, {"backward_input_cold", 0}, {"backward_weight_cold", 0}};
  for (const ir::LayerProfile& l : p.layers()) {
    const double v[] = {
        l.forward_ns(),      l.backward_input_ns(),      l.backward_weight_ns(),     l.optimizer_ns(),
        l.forward_cold_ns(), l.backward_input_cold_ns(), l.backward_weight_cold_ns()};
    for (size_t k = 0; k < out.size(); ++k) out[k].value += v[k];
  }
  if (p.cold_records() == 0) out.resize(4);
  for (const ir::ColocationFactor& c : p.colocation()) {
    out.push_back({"co-location " + std::to_string(c.stages()), c.slowdown()});
    if (c.op_stretch() > 0) out.push_back({"op stretch " + std::to_string(c.stages()), c.op_stretch()});
    if (c.op_cpu_stretch() > 0)
      out.push_back({"op CPU stretch " + std::to_string(c.stages()), c.op_cpu_stretch()});
  }
  return out;
}

std::vector<ir::RepeatCheck> CompareProfiles(const ir::Profile& a, const ir::Profile& b) {
  std::vector<ir::RepeatCheck> out;
  const std::vector<KindSum> sb = ProfileKindSums(b);
  for (const KindSum& x : ProfileKindSums(a))
    for (const KindSum& y : sb)
      if (x.kind == y.kind) {
        ir::RepeatCheck& c = out.emplace_back();
        c.set_kind(x.kind);
        const double mean = (x.value + y.value) / 2;
        c.set_difference(mean > 0 ? std::fabs(x.value - y.value) / mean : 0.0);
      }
  return out;
}

RepeatSummary SummarizeRepeats(const std::vector<ir::Profile>& profiles, double tolerance) {
  RepeatSummary r;
  if (profiles.empty()) return r;
  r.first = ProfileKindSums(profiles[0]);
  r.worst.assign(r.first.size(), 0.0);
  for (size_t i = 1; i < profiles.size(); ++i)
    for (const ir::RepeatCheck& d : CompareProfiles(profiles[0], profiles[i]))
      for (size_t k = 0; k < r.first.size(); ++k)
        if (r.first[k].kind == d.kind()) r.worst[k] = std::max(r.worst[k], d.difference());
  std::string over;
  for (size_t k = 0; k < r.first.size(); ++k)
    if (r.worst[k] > tolerance)
      over += fmt::format("{}{} {:.1f}%", over.empty() ? "" : ", ", r.first[k].kind, r.worst[k] * 100);
  if (!over.empty())
    r.warning = fmt::format("{} profiles taken back to back differ by more than {:.0f}%: {}", profiles.size(),
                            tolerance * 100, over);
  return r;
}

}  // namespace paci::sim
