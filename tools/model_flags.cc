#include "tools/model_flags.h"

#include <fmt/format.h>

#include <cmath>

#include "sim/profile_file.h"

namespace paci::cli {
namespace {

bool WasGiven(const ModelFlags& f, const std::string& name) {
  for (const auto& [n, opt] : f.given)
    if (n == name) return opt->count() > 0;
  return false;
}

// The shape the flags describe: --model's (if any), with --layers and friends overriding it.
Result<ir::ModelShape> ShapeFromFlags(const ModelFlags& f, bool need) {
  ir::ModelShape m;
  if (!f.model.empty()) {
    Result<ir::ModelShape> named = sim::ModelByName(f.model);
    if (!named.ok()) return named.status();
    m = *named;
  } else {
    m.set_seq(1024);
    m.set_vocab(50257);
  }
  if (WasGiven(f, "--layers")) m.set_layers(f.layers);
  if (WasGiven(f, "--dim")) m.set_dim(f.dim);
  if (WasGiven(f, "--heads")) m.set_heads(f.heads);
  if (WasGiven(f, "--seq")) m.set_seq(f.seq);
  if (WasGiven(f, "--vocab")) m.set_vocab(f.vocab);
  if (need && f.model.empty() && (m.layers() == 0 || m.dim() == 0 || m.heads() == 0))
    return Status::InvalidArgument("--model: required (gpt2, gpt2-medium, gpt2-large, gpt2-xl, a JSON file), "
                                   "or --layers, --dim and --heads");
  if (need) PACI_RETURN_IF_ERROR(sim::ValidateModelShape(m));
  return m;
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
    add("--microbatch-size", f->microbatch_size, "micro-batch size b (default 8; a profile's own)");
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
  if (!f.hardware.empty() && !f.profile.empty())
    return Status::InvalidArgument("--hardware: does not apply with --profile (the profile's times are its device's)");
  if (f.hardware.empty() && f.profile.empty())
    return Status::InvalidArgument("--hardware or --profile: one is required to cost the model");
  if (WasGiven(f, "--memory-cap-gb") && !(f.memory_cap_gb >= 0 && std::isfinite(f.memory_cap_gb)))
    return Status::InvalidArgument("--memory-cap-gb: must be a number >= 0");
  sim::ModelCostSetup s;
  if (!f.link.empty()) {
    Result<sim::Link> link = sim::LinkByName(f.link);
    if (!link.ok()) return link.status();
    s.link = *link;
  }
  if (!f.profile.empty()) {
    Result<ir::Profile> p = sim::LoadProfileFile(f.profile);
    if (!p.ok()) return Status::InvalidArgument("--profile: " + p.status().message());
    if (!f.precision.empty() && f.precision != p->precision())
      return Status::InvalidArgument("--precision: the profile was measured in " + p->precision());
    Result<ir::ModelShape> shape = ShapeFromFlags(f, false);
    if (!shape.ok()) return shape.status();
    ir::ModelShape want = p->model();
    if (!f.model.empty()) want = *shape;
    for (const char* k : {"--layers", "--dim", "--heads", "--seq", "--vocab"})
      if (WasGiven(f, k)) want = *shape;
    const uint32_t b = f.microbatch_size ? f.microbatch_size : p->microbatch_size();
    PACI_RETURN_IF_ERROR(sim::CheckProfileMatches(*p, want, b, "--profile: " + f.profile));
    if (f.colocate && p->colocation_size() == 0)
      return Status::InvalidArgument("--colocate: the profile " + f.profile + " has no co-location factors");
    s.model = p->model();
    s.microbatch = p->microbatch_size();
    s.layers = sim::LayerCostsFromProfile(*p);
    s.memory_cap_bytes = f.memory_cap_gb > 0 ? f.memory_cap_gb * 1073741824.0 : 0;
    s.colocate = f.colocate;
    s.profile = *p;
    return s;
  }
  if (f.colocate) return Status::InvalidArgument("--colocate: needs --profile (its co-location factors)");
  if (!f.calibrate.empty() && f.hardware.empty()) return Status::InvalidArgument("--calibrate: needs --hardware");
  Result<ir::ModelShape> shape = ShapeFromFlags(f, true);
  if (!shape.ok()) return shape.status();
  Result<sim::Hardware> hw = sim::HardwareByName(f.hardware);
  if (!hw.ok()) return hw.status();
  if (!f.calibrate.empty()) {
    Result<ir::Profile> p = sim::LoadProfileFile(f.calibrate);
    if (!p.ok()) return Status::InvalidArgument("--calibrate: " + p.status().message());
    hw = sim::CalibrateHardware(*hw, *p);
    if (!hw.ok()) return hw.status();
  }
  const std::string prec = !f.precision.empty() ? f.precision : (hw->name == "cpu" ? "fp32" : "bf16");
  Result<sim::Precision> p = sim::ParsePrecision(prec);
  if (!p.ok()) return p.status();
  s.model = *shape;
  s.microbatch = f.microbatch_size ? f.microbatch_size : 8;
  PACI_RETURN_IF_ERROR(sim::CheckModelSize(s.model, s.microbatch));
  s.layers = sim::LayerCostsOnHardware(s.model, s.microbatch, *p, *hw);
  s.memory_cap_bytes = f.memory_cap_gb >= 0 ? f.memory_cap_gb * 1073741824.0 : hw->memory_bytes;
  return s;
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
