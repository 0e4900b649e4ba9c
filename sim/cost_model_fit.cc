#include "sim/cost_model_fit.h"

#include <algorithm>
#include <map>
#include <string>

#include "sched/expanded_schedule.h"
#include "sched/op_messages.h"

namespace paci::sim {
namespace {

struct Mean {
  double sum = 0;
  uint64_t n = 0;
  void Add(double x) {
    sum += x;
    ++n;
  }
  int64_t Get() const { return n == 0 ? 0 : static_cast<int64_t>(sum / static_cast<double>(n) + 0.5); }
};

// Median delay from a send's start to its receive's end, over receives that were already waiting
// when the send started (so the delay is the transfer, not the receiver's lateness). Works for
// executor traces (SEND = hand-off, RECV = the wait) and simulator traces (SEND = transfer).
int64_t FitLatency(const ir::Schedule& schedule, const std::vector<ir::TraceEvent>& measured) {
  const uint32_t P = schedule.spec().stages(), V = schedule.spec().chunks();
  auto key_of = [&](const ir::TraceEvent& e) {
    PlainOp op{e.op_id(), e.stage(), e.chunk(), e.micro_batch(), e.kind()};
    return MessageOf(op, P, V);
  };
  std::map<std::tuple<bool, uint64_t, uint32_t, uint32_t>, int64_t> send_start;
  for (const ir::TraceEvent& e : measured) {
    if (!IsSend(e.kind())) continue;
    if (auto k = key_of(e))
      send_start[{k->is_grad, k->micro_batch, k->from_virtual, k->to_virtual}] = e.start_ns();
  }
  std::vector<int64_t> delays;
  for (const ir::TraceEvent& e : measured) {
    if (!IsRecv(e.kind())) continue;
    auto k = key_of(e);
    if (!k) continue;
    auto it = send_start.find({k->is_grad, k->micro_batch, k->from_virtual, k->to_virtual});
    if (it != send_start.end() && e.start_ns() <= it->second)
      delays.push_back(std::max<int64_t>(0, e.end_ns() - it->second));
  }
  if (delays.empty()) return 0;
  std::nth_element(delays.begin(), delays.begin() + delays.size() / 2, delays.end());
  return delays[delays.size() / 2];
}

}  // namespace

Result<ir::CostModel> FitCostModel(const ir::Schedule& schedule, const std::vector<ir::TraceEvent>& measured,
                                   const ir::CostModel& base) {
  const uint32_t P = schedule.spec().stages();
  const double V = schedule.spec().chunks();
  std::vector<std::map<ir::OpKind, Mean>> means(P);
  for (const ir::TraceEvent& e : measured) {
    if (e.stage() >= P || !IsCompute(e.kind())) continue;
    means[e.stage()][e.kind()].Add(static_cast<double>(e.end_ns() - e.start_ns()));
  }
  ir::CostModel cost = base;
  cost.clear_stages();
  for (uint32_t s = 0; s < P; ++s) {
    ir::StageCost c =
        base.stages_size() == 0 ? ir::StageCost() : base.stages(std::min<int>(s, base.stages_size() - 1));
    auto& m = means[s];
    if (m[ir::FORWARD].n == 0)
      return Status::InvalidArgument("measured run: stage " + std::to_string(s) + " has no forward ops");
    // The simulator charges a chunk 1/V of its stage's cost, so scale chunk means back up.
    c.set_forward_ns(static_cast<int64_t>(m[ir::FORWARD].Get() * V));
    if (m[ir::BACKWARD].n > 0) {
      c.set_backward_input_ns(static_cast<int64_t>(m[ir::BACKWARD].Get() * V));
      c.set_backward_weight_ns(0);
    } else {
      c.set_backward_input_ns(static_cast<int64_t>(m[ir::BACKWARD_INPUT].Get() * V));
      c.set_backward_weight_ns(static_cast<int64_t>(m[ir::BACKWARD_WEIGHT].Get() * V));
    }
    c.set_optimizer_ns(m[ir::OPTIMIZER_STEP].Get());
    *cost.add_stages() = c;
  }
  cost.clear_links();
  ir::LinkCost link;
  link.set_latency_ns(FitLatency(schedule, measured));
  *cost.add_links() = link;
  cost.mutable_jitter()->set_cv(0);
  return cost;
}

}  // namespace paci::sim
