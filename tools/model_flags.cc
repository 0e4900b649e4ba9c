#include "tools/model_flags.h"

#include <fmt/format.h>

#include <iterator>
#include <optional>
#include <utility>

#include "sim/model_setup.h"
#include "tools/spec_flags.h"

namespace paci::cli {
namespace {

bool WasGiven(const ModelFlags& f, const std::string& name) {
  for (const auto& [n, opt] : f.given)
    if (n == name) return opt->count() > 0;
  return false;
}

// The flags as the shared inputs (sim/model_setup.h): overrides only where given.
sim::ModelCostInputs InputsFromFlags(const ModelFlags& f) {
  sim::ModelCostInputs in;
  in.model = f.model;
  in.hardware = f.hardware;
  in.link = f.link;
  in.profile = f.profile;
  in.precision = f.precision;
  in.calibrate = f.calibrate;
  const std::pair<const char*, std::optional<uint32_t>*> shape[] = {
      {"--layers", &in.layers}, {"--dim", &in.dim}, {"--heads", &in.heads}, {"--seq", &in.seq}, {"--vocab", &in.vocab}};
  const uint32_t values[] = {f.layers, f.dim, f.heads, f.seq, f.vocab};
  for (size_t i = 0; i < std::size(shape); ++i)
    if (WasGiven(f, shape[i].first)) *shape[i].second = values[i];
  in.microbatch_size = f.microbatch_size;
  if (WasGiven(f, "--memory-cap-gb")) in.memory_cap_gb = f.memory_cap_gb;
  in.colocate = f.colocate;
  return in;
}

}  // namespace

void AddModelFlags(CLI::App* cmd, ModelFlags* f, bool with_shape) {
  auto add = [&](const char* name, auto& var, const char* help) {
    f->given.emplace_back(name, cmd->add_option(name, var, help));
  };
  add("--model", f->model, "model: gpt2, gpt2-medium, gpt2-large, gpt2-xl, or a JSON file {layers, dim, heads, seq, vocab}");
  if (with_shape) {
    add("--layers", f->layers, "transformer blocks (overrides --model's)");
    add("--dim", f->dim, "embedding width");
    add("--heads", f->heads, "attention heads");
    add("--seq", f->seq, "sequence length T (default 1024)");
    add("--vocab", f->vocab, "vocabulary (default 50257)");
    // 0 means "not given" to the shared inputs: a typed 0 is refused, not read as the default.
    f->given.emplace_back("--microbatch-size",
                          cmd->add_option("--microbatch-size", f->microbatch_size,
                                          "micro-batch size b (default 8; a profile's own)")
                              ->check(AtLeastOne()));
  }
  add("--hardware", f->hardware, "device: a100, h100, h200, cpu, or a JSON file (sim/model_cost.h)");
  add("--link", f->link, "link between stages: nvlink4, pcie5, ib-ndr, or a JSON file {bandwidth_gbs, latency_us}");
  add("--calibrate", f->calibrate, "fit --hardware's GEMM and memory efficiencies to a profile measured on it (any model)");
  add("--profile", f->profile, "per-layer costs measured by `paci profile` (instead of --hardware)");
  add("--precision", f->precision, "fp32 or bf16 (default: bf16 on GPUs, fp32 on cpu)");
  add("--memory-cap-gb", f->memory_cap_gb, "per-stage memory cap for the layer split (GiB; default: the device's)");
  f->given.emplace_back("--colocate", cmd->add_flag("--colocate", f->colocate,
                                                    "all stages share one device, slowed by the profile's co-location factors"));
}

bool ModelFlagsGiven(const ModelFlags& f) {
  for (const auto& [n, opt] : f.given)
    if (opt->count() > 0) return true;
  return false;
}

Result<sim::ModelCostSetup> ModelSetupFromFlags(const ModelFlags& f, const CostFlags* cost) {
  if (cost) {
    if (!cost->cost_file.empty()) return Status::InvalidArgument("--cost: does not apply with --model/--hardware/--profile");
    for (const auto& [name, opt] : cost->given)
      if (opt->count() > 0 && name != "--jitter" && name != "--seed" && name != "--straggler-stage" &&
          name != "--straggler-factor")
        return Status::InvalidArgument(name + ": does not apply with --model/--hardware/--profile (the model gives the costs)");
  }
  return sim::ModelSetupFromInputs(InputsFromFlags(f));
}

std::string DescribeSetup(const ModelFlags& f, const sim::ModelCostSetup& s) {
  const std::string model = !f.model.empty() ? f.model
                                             : fmt::format("{} layers, dim {}", s.model.layers(), s.model.dim());
  std::string out = fmt::format("{} b={} T={}", model, s.microbatch, s.model.seq());
  out += f.profile.empty() ? fmt::format(" on {}", f.hardware) : fmt::format(" from profile {}", f.profile);
  if (!f.calibrate.empty()) out += " calibrated by " + f.calibrate;
  if (!f.link.empty()) out += ", link " + f.link;
  if (s.colocate) out += ", stages co-located";
  return out;
}

}  // namespace paci::cli
