// Cost-model flags shared by `paci simulate` and `paci sweep`: uniform per-stage costs
// (--fwd-ms, --bwd-ms, ...) or a --cost FILE (sim/cost_model_file.h), where flags given
// explicitly override the file's value on every stage. Errors name the flag or the file.
#pragma once

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <cmath>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "proto/status.h"
#include "sim/cost_model_file.h"
#include "sim/stage_cost_model.h"

namespace paci::cli {

struct CostFlags {
  sim::UniformCost u;
  std::string cost_file;
  // Flag name -> option, to tell which flags were given (they override --cost).
  std::vector<std::pair<std::string, CLI::Option*>> given;
};

inline void AddCostFlags(CLI::App* cmd, CostFlags& f) {
  auto add = [&](const char* name, auto& var, const char* help) {
    f.given.emplace_back(name, cmd->add_option(name, var, help)->capture_default_str());
  };
  add("--fwd-ms", f.u.fwd_ms, "forward time per micro-batch and stage (ms)");
  add("--bwd-ms", f.u.bwd_ms, "backward time (ms); zb-h1: the input-gradient part");
  add("--wgrad-ms", f.u.wgrad_ms, "weight-gradient time (ms); non-split schedules add it to the backward");
  add("--opt-ms", f.u.opt_ms, "optimizer step time (ms)");
  add("--latency-us", f.u.latency_us, "per-hop link latency (us)");
  add("--bandwidth-gbps", f.u.bandwidth_gbps, "link bandwidth in Gbit/s (0 = infinite)");
  add("--message-mb", f.u.message_mb, "activation / gradient message between stages (MiB)");
  add("--activation-mb", f.u.activation_mb, "activations one micro-batch holds on a stage from F to B (MiB)");
  add("--wgrad-mb", f.u.wgrad_mb, "memory one micro-batch holds from I to W (split schedules, MiB)");
  add("--weights-mb", f.u.weights_mb, "one weight copy per stage (MiB); gradients = 1x, optimizer state = 2x");
  add("--jitter", f.u.jitter_cv, "coefficient of variation of a log-normal factor on every compute op");
  add("--seed", f.u.seed, "seed of the jitter");
  add("--straggler-stage", f.u.straggler_stage, "stage whose compute ops take --straggler-factor times longer");
  add("--straggler-factor", f.u.straggler_factor, "slow-down of the straggler stage (0 = none)");
  add("--tokens-per-microbatch", f.u.tokens_per_microbatch, "tokens in one micro-batch (for tokens/s)");
  cmd->add_option("--cost", f.cost_file,
                  "per-stage costs: JSON {\"stages\":[{\"fwd_ms\":..,\"bwd_ms\":..}],\"links\":[{\"latency_us\":..,"
                  "\"bandwidth_gbps\":..}]} or CostModel proto text (see sim/cost_model_file.h)");
}

inline bool Given(const CostFlags& f, const std::string& name) {
  for (const auto& [n, opt] : f.given)
    if (n == name) return opt->count() > 0;
  return false;
}

// Checks the numbers, naming the flag at fault.
inline Status CheckCostFlags(const CostFlags& f) {
  const sim::UniformCost& u = f.u;
  const std::pair<const char*, double> values[] = {
      {"--fwd-ms", u.fwd_ms},           {"--bwd-ms", u.bwd_ms},         {"--wgrad-ms", u.wgrad_ms},
      {"--opt-ms", u.opt_ms},           {"--latency-us", u.latency_us}, {"--bandwidth-gbps", u.bandwidth_gbps},
      {"--message-mb", u.message_mb},   {"--activation-mb", u.activation_mb}, {"--wgrad-mb", u.wgrad_mb},
      {"--weights-mb", u.weights_mb},   {"--jitter", u.jitter_cv},      {"--straggler-factor", u.straggler_factor}};
  for (const auto& [name, v] : values)
    if (!(v >= 0) || !std::isfinite(v))
      return Status::InvalidArgument(std::string(name) + ": must be a number >= 0, got " + std::to_string(v));
  // Upper bounds: the cost model's limits (sched/limits.h, sim/stage_cost_model.h) in flag units.
  const double max_ms = static_cast<double>(kMaxOpNs) / 1e6, max_mb = static_cast<double>(kMaxBytes) / (1 << 20);
  const std::tuple<const char*, double, double> bounded[] = {
      {"--fwd-ms", u.fwd_ms, max_ms},         {"--bwd-ms", u.bwd_ms, max_ms},
      {"--wgrad-ms", u.wgrad_ms, max_ms},     {"--opt-ms", u.opt_ms, max_ms},
      {"--latency-us", u.latency_us, max_ms * 1e3},
      {"--message-mb", u.message_mb, max_mb}, {"--activation-mb", u.activation_mb, max_mb},
      {"--wgrad-mb", u.wgrad_mb, max_mb},     {"--weights-mb", u.weights_mb, max_mb},
      {"--jitter", u.jitter_cv, sim::kMaxJitterCv},
      {"--straggler-factor", u.straggler_factor, sim::kMaxStragglerFactor}};
  for (const auto& [name, v, most] : bounded)
    if (v > most)
      return Status::InvalidArgument(fmt::format("{}: {} is beyond the limit {} (sched/limits.h, sim/stage_cost_model.h)",
                                                 name, v, most));
  if (u.straggler_factor > 0 && u.straggler_stage < 0)
    return Status::InvalidArgument("--straggler-stage: needed with --straggler-factor");
  return Status::Ok();
}

// The cost model the flags describe: MakeCostModel(u), or the file with given flags applied.
inline Result<ir::CostModel> CostFromFlags(const CostFlags& f) {
  PACI_RETURN_IF_ERROR(CheckCostFlags(f));
  const ir::CostModel flags = sim::MakeCostModel(f.u);
  if (f.cost_file.empty()) return flags;
  Result<ir::CostModel> file = sim::LoadCostModelFile(f.cost_file);
  if (!file.ok()) return Status::InvalidArgument("--cost: " + file.status().message());
  ir::CostModel cost = *file;
  const ir::StageCost& fs = flags.stages(0);
  for (ir::StageCost& s : *cost.mutable_stages()) {
    if (Given(f, "--fwd-ms")) s.set_forward_ns(fs.forward_ns());
    if (Given(f, "--bwd-ms")) s.set_backward_input_ns(fs.backward_input_ns());
    if (Given(f, "--wgrad-ms")) s.set_backward_weight_ns(fs.backward_weight_ns());
    if (Given(f, "--opt-ms")) s.set_optimizer_ns(fs.optimizer_ns());
    if (Given(f, "--message-mb")) s.set_message_bytes(fs.message_bytes());
    if (Given(f, "--activation-mb")) s.set_activation_bytes(fs.activation_bytes());
    if (Given(f, "--wgrad-mb")) s.set_weight_grad_bytes(fs.weight_grad_bytes());
    if (Given(f, "--weights-mb")) {
      s.set_weight_bytes(fs.weight_bytes());
      s.set_gradient_bytes(fs.gradient_bytes());
      s.set_optimizer_state_bytes(fs.optimizer_state_bytes());
    }
  }
  if (Given(f, "--latency-us") || Given(f, "--bandwidth-gbps")) {
    if (cost.links_size() == 0) cost.add_links();
    for (ir::LinkCost& l : *cost.mutable_links()) {
      if (Given(f, "--latency-us")) l.set_latency_ns(std::llround(f.u.latency_us * 1e3));
      if (Given(f, "--bandwidth-gbps")) l.set_bandwidth_bytes_per_s(f.u.bandwidth_gbps * 1e9 / 8.0);
    }
  }
  ir::Jitter& j = *cost.mutable_jitter();
  if (Given(f, "--jitter")) j.set_cv(f.u.jitter_cv);
  if (Given(f, "--seed")) j.set_seed(f.u.seed);
  if (Given(f, "--straggler-stage")) j.set_straggler_stage(f.u.straggler_stage);
  if (Given(f, "--straggler-factor")) j.set_straggler_factor(f.u.straggler_factor);
  if (Given(f, "--tokens-per-microbatch")) cost.set_tokens_per_microbatch(f.u.tokens_per_microbatch);
  return cost;
}

}  // namespace paci::cli
