#include "sim/stage_cost_model.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace paci::sim {
namespace {

Status Invalid(const std::string& field, const std::string& why) {
  return Status::InvalidArgument("cost model: " + field + ": " + why);
}

// SplitMix64: a counter-based generator, so op i's draw depends on (seed, i) only.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Uniform in (0, 1): 53 random bits, shifted off zero so log() is finite.
double Unit(uint64_t bits) { return (static_cast<double>(bits >> 11) + 0.5) * 0x1.0p-53; }

Status CheckStage(const ir::StageCost& c, int i) {
  const std::string f = "stages[" + std::to_string(i) + "]";
  for (int64_t ns : {c.forward_ns(), c.backward_input_ns(), c.backward_weight_ns(), c.optimizer_ns()})
    if (ns < 0 || ns > kMaxOpNs)
      return Invalid(f,
                     "op times must be in 0.." + std::to_string(kMaxOpNs) + " ns (kMaxOpNs, sched/limits.h)");
  for (uint64_t b : {c.activation_bytes(), c.weight_grad_bytes(), c.weight_bytes(), c.gradient_bytes(),
                     c.optimizer_state_bytes(), c.message_bytes(), c.transient_bytes()})
    if (b > kMaxBytes)
      return Invalid(
          f, "sizes must be at most " + std::to_string(kMaxBytes) + " bytes (kMaxBytes, sched/limits.h)");
  return Status::Ok();
}

Status CheckJitter(const ir::Jitter& j, uint32_t stages) {
  if (!(j.cv() >= 0 && j.cv() <= kMaxJitterCv))
    return Invalid("jitter.cv", "must be in [0, " + std::to_string(kMaxJitterCv) + "]");
  if (!(j.straggler_factor() >= 0 && j.straggler_factor() <= kMaxStragglerFactor))
    return Invalid("jitter.straggler_factor", "must be in [0, " + std::to_string(kMaxStragglerFactor) + "]");
  if (j.straggler_factor() > 0 &&
      (j.straggler_stage() < 0 || j.straggler_stage() >= static_cast<int32_t>(stages)))
    return Invalid("jitter.straggler_stage", "must name a stage in 0.." + std::to_string(stages - 1));
  return Status::Ok();
}

// Transfer time of `bytes` over `link`: latency + ceil(bytes / bandwidth).
Result<int64_t> LinkNs(const ir::LinkCost& link, uint64_t bytes, int index) {
  const std::string f = "links[" + std::to_string(index) + "]";
  if (link.latency_ns() < 0 || link.latency_ns() > kMaxOpNs)
    return Invalid(f, "latency_ns must be in 0.." + std::to_string(kMaxOpNs) + " (kMaxOpNs, sched/limits.h)");
  const double bw = link.bandwidth_bytes_per_s();
  if (bw < 0 || !std::isfinite(bw)) return Invalid(f, "bandwidth must be >= 0 (0 = infinite)");
  int64_t ns = link.latency_ns();
  if (bw > 0 && bytes > 0) {
    const double transfer = std::ceil(static_cast<double>(bytes) * 1e9 / bw);
    if (!(transfer <= static_cast<double>(kMaxOpNs)))
      return Invalid(f, "a message takes more than kMaxOpNs (sched/limits.h) at this bandwidth");
    ns += static_cast<int64_t>(transfer);
  }
  return ns;
}

// Devices and slowdowns of `cost`; `shared` stays empty when no op can ever be slowed down.
Status SetColocation(const ir::CostModel& cost, uint32_t P, std::vector<uint32_t>* device,
                     std::vector<bool>* shared, std::vector<double>* slowdown, uint32_t* devices) {
  if (cost.device_size() != 0 && cost.device_size() != static_cast<int>(P))
    return Invalid("device", "needs 0 entries or one per stage (" + std::to_string(P) + "), got " +
                                 std::to_string(cost.device_size()));
  bool slows = false;
  for (int i = 0; i < cost.colocation_slowdown_size(); ++i) {
    const double f = cost.colocation_slowdown(i);
    if (!std::isfinite(f) || f <= 0 || f > kMaxColocationSlowdown)
      return Invalid("colocation_slowdown[" + std::to_string(i) + "]",
                     "must be a finite number in (0, 4096] (kMaxColocationSlowdown, sim/stage_cost_model.h)");
    slows = slows || f != 1.0;
    slowdown->push_back(f);
  }
  device->assign(cost.device().begin(), cost.device().end());
  std::vector<uint32_t> members;
  for (uint32_t d : *device) {
    if (d >= P) return Invalid("device", "device ids must be < P (" + std::to_string(P) + ")");
    if (members.size() <= d) members.resize(d + 1, 0);
    ++members[d];
  }
  *devices = device->empty() ? P : static_cast<uint32_t>(members.size());
  // Turns are taken on a shared device even when nothing slows its ops down.
  if (!(slows || cost.device_slots() > 0) || device->empty()) return Status::Ok();
  shared->assign(P, false);
  bool any = false;
  for (uint32_t s = 0; s < P; ++s) any |= (*shared)[s] = members[(*device)[s]] >= 2;
  if (!any) shared->clear();
  return Status::Ok();
}

}  // namespace

Result<StageCostModel> StageCostModel::Create(const ir::CostModel& cost, uint32_t P, uint32_t V) {
  if (P == 0) return Invalid("stages", "schedule has no stage");
  if (V == 0) V = 1;
  const int ns = cost.stages_size(), nl = cost.links_size();
  if (ns != 1 && ns != static_cast<int>(P))
    return Invalid("stages",
                   "needs 1 entry or one per stage (" + std::to_string(P) + "), got " + std::to_string(ns));
  if (nl > 1 && nl != static_cast<int>(P) - 1 && nl != static_cast<int>(P))
    return Invalid("links",
                   "needs 0, 1, P-1 or P entries (P = " + std::to_string(P) + "), got " + std::to_string(nl));
  PACI_RETURN_IF_ERROR(CheckJitter(cost.jitter(), P));

  StageCostModel m;
  m.stages_ = P;
  m.tokens_per_microbatch_ = cost.tokens_per_microbatch();
  m.base_ns_.assign(size_t{P} * kKinds, 0);
  m.memory_.resize(P);
  const ir::Jitter& j = cost.jitter();
  for (uint32_t s = 0; s < P; ++s) {
    const int i = ns == 1 ? 0 : static_cast<int>(s);
    const ir::StageCost& c = cost.stages(i);
    PACI_RETURN_IF_ERROR(CheckStage(c, i));
    const double slow = (j.straggler_factor() > 0 && j.straggler_stage() == static_cast<int32_t>(s))
                            ? j.straggler_factor()
                            : 1.0;
    // A chunk is 1/V of the stage; integer division truncates at most V-1 ns per op.
    auto per_chunk = [&](int64_t ns_total) {
      return static_cast<int64_t>(std::llround(static_cast<double>(ns_total / V) * slow));
    };
    int64_t* base = &m.base_ns_[size_t{s} * kKinds];
    base[ComputeKindIndex(ir::FORWARD)] = per_chunk(c.forward_ns());
    base[ComputeKindIndex(ir::BACKWARD)] = per_chunk(c.backward_input_ns() + c.backward_weight_ns());
    base[ComputeKindIndex(ir::BACKWARD_INPUT)] = per_chunk(c.backward_input_ns());
    base[ComputeKindIndex(ir::BACKWARD_WEIGHT)] = per_chunk(c.backward_weight_ns());
    base[ComputeKindIndex(ir::OPTIMIZER_STEP)] =
        static_cast<int64_t>(std::llround(static_cast<double>(c.optimizer_ns()) * slow));
    m.memory_[s] = StageMemory{c.activation_bytes() / V, c.weight_grad_bytes() / V, c.weight_bytes(),
                               c.gradient_bytes() + c.optimizer_state_bytes(), c.transient_bytes()};
  }
  // Link i joins stage i and i+1; link P-1 is the interleaved wrap from stage P-1 to stage 0.
  // A message over link i carries stage i's output (its gradient has the same size).
  m.transfer_ns_.assign(P, 0);
  for (uint32_t l = 0; l < P && nl > 0; ++l) {
    const int li = nl == 1 ? 0 : (l < static_cast<uint32_t>(nl) ? static_cast<int>(l) : 0);
    const uint32_t sender = l;  // stage i's output crosses link i (P-1's output crosses the wrap)
    const uint64_t bytes = cost.stages(ns == 1 ? 0 : static_cast<int>(sender)).message_bytes();
    Result<int64_t> t = LinkNs(cost.links(li), bytes, li);
    if (!t.ok()) return t.status();
    m.transfer_ns_[l] = *t;
  }
  PACI_RETURN_IF_ERROR(SetColocation(cost, P, &m.device_, &m.shared_, &m.slowdown_, &m.devices_));
  m.slots_ = cost.device_slots();
  if (j.cv() > 0) {
    m.jitter_ = true;
    m.sigma_ = std::sqrt(std::log1p(j.cv() * j.cv()));
    m.mu_ = -0.5 * m.sigma_ * m.sigma_;  // so the factor has mean 1
    m.seed_ = j.seed();
  }
  return m;
}

double StageCostModel::JitterFactor(uint64_t op_id) const {
  if (!jitter_) return 1.0;
  const uint64_t a = Mix(seed_ ^ Mix(op_id));
  const uint64_t b = Mix(a);
  const double z = std::sqrt(-2.0 * std::log(Unit(a))) * std::cos(2.0 * M_PI * Unit(b));
  return std::exp(mu_ + sigma_ * z);
}

int64_t StageCostModel::Jittered(int64_t base, uint64_t op_id) const {
  if (base == 0) return 0;
  // The factor's tail can exceed any bound; an op is capped at 2^62 ns so sums stay in int64.
  const double ns = std::min(static_cast<double>(base) * JitterFactor(op_id), 0x1.0p62);
  return static_cast<int64_t>(std::llround(ns));
}

ir::CostModel MakeCostModel(const UniformCost& u) {
  ir::CostModel cost;
  ir::StageCost& s = *cost.add_stages();
  s.set_forward_ns(MsToNs(u.fwd_ms));
  s.set_backward_input_ns(MsToNs(u.bwd_ms));
  s.set_backward_weight_ns(MsToNs(u.wgrad_ms));
  s.set_optimizer_ns(MsToNs(u.opt_ms));
  s.set_activation_bytes(MbToBytes(u.activation_mb));
  s.set_weight_grad_bytes(MbToBytes(u.wgrad_mb));
  s.set_weight_bytes(MbToBytes(u.weights_mb));
  s.set_gradient_bytes(MbToBytes(u.weights_mb));
  s.set_optimizer_state_bytes(2 * MbToBytes(u.weights_mb));
  s.set_message_bytes(MbToBytes(u.message_mb));
  if (u.latency_us > 0 || u.bandwidth_gbps > 0) {
    ir::LinkCost& l = *cost.add_links();
    l.set_latency_ns(static_cast<int64_t>(std::llround(u.latency_us * 1e3)));
    l.set_bandwidth_bytes_per_s(u.bandwidth_gbps * 1e9 / 8.0);
  }
  ir::Jitter& j = *cost.mutable_jitter();
  j.set_cv(u.jitter_cv);
  j.set_seed(u.seed);
  j.set_straggler_stage(u.straggler_stage);
  j.set_straggler_factor(u.straggler_factor);
  cost.set_tokens_per_microbatch(u.tokens_per_microbatch);
  return cost;
}

}  // namespace paci::sim
