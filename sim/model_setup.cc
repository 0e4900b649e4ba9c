#include "sim/model_setup.h"

#include <cmath>

#include "proto/ir_names.h"
#include "sim/profile_file.h"

namespace paci::sim {
namespace {

constexpr double kGiB = 1073741824.0;

bool AnyShapeOverride(const ModelCostInputs& in) {
  return in.layers || in.dim || in.heads || in.seq || in.vocab;
}

// The shape the inputs describe: the model's (if any), with the overrides applied.
Result<ir::ModelShape> ShapeOf(const ModelCostInputs& in, bool need) {
  ir::ModelShape m;
  if (!in.model.empty()) {
    Result<ir::ModelShape> named = ModelByName(in.model);
    if (!named.ok()) return named.status();
    m = *named;
  } else {
    m.set_seq(1024);
    m.set_vocab(50257);
  }
  if (in.layers) m.set_layers(*in.layers);
  if (in.dim) m.set_dim(*in.dim);
  if (in.heads) m.set_heads(*in.heads);
  if (in.seq) m.set_seq(*in.seq);
  if (in.vocab) m.set_vocab(*in.vocab);
  if (need && in.model.empty() && (m.layers() == 0 || m.dim() == 0 || m.heads() == 0))
    return Status::InvalidArgument(
        "--model: required (gpt2, gpt2-medium, gpt2-large, gpt2-xl, a JSON file), "
        "or --layers, --dim and --heads");
  if (need) PACI_RETURN_IF_ERROR(ValidateModelShape(m));
  return m;
}

// The measured costs of a profile, checked against the model and micro-batch the inputs name.
Result<ModelCostSetup> FromProfile(const ModelCostInputs& in, ModelCostSetup s) {
  Result<ir::Profile> p = LoadProfileFile(in.profile);
  if (!p.ok()) return Status::InvalidArgument("--profile: " + p.status().message());
  if (!in.precision.empty() && in.precision != p->precision())
    return Status::InvalidArgument("--precision: the profile was measured in " + p->precision());
  Result<ir::ModelShape> shape = ShapeOf(in, false);
  if (!shape.ok()) return shape.status();
  const ir::ModelShape want = !in.model.empty() || AnyShapeOverride(in) ? *shape : p->model();
  const uint32_t b = in.microbatch_size ? in.microbatch_size : p->microbatch_size();
  PACI_RETURN_IF_ERROR(CheckProfileMatches(*p, want, b, "--profile: " + in.profile));
  if (in.colocate && p->colocation_size() == 0)
    return Status::InvalidArgument("--colocate: the profile " + in.profile + " has no co-location factors");
  s.model = p->model();
  s.microbatch = p->microbatch_size();
  s.layers = LayerCostsFromProfile(*p);
  s.memory_cap_bytes = in.memory_cap_gb && *in.memory_cap_gb > 0 ? *in.memory_cap_gb * kGiB : 0;
  s.colocate = in.colocate;
  s.profile = *p;
  return s;
}

}  // namespace

Result<ModelCostSetup> ModelSetupFromInputs(const ModelCostInputs& in) {
  if (!in.hardware.empty() && !in.profile.empty())
    return Status::InvalidArgument(
        "--hardware: does not apply with --profile (the profile's times are its device's)");
  if (in.hardware.empty() && in.profile.empty())
    return Status::InvalidArgument("--hardware or --profile: one is required to cost the model");
  if (in.memory_cap_gb && !(*in.memory_cap_gb >= 0 && std::isfinite(*in.memory_cap_gb)))
    return Status::InvalidArgument("--memory-cap-gb: must be a number >= 0");
  ModelCostSetup s;
  if (!in.link.empty()) {
    Result<Link> link = LinkByName(in.link);
    if (!link.ok()) return link.status();
    s.link = *link;
  }
  if (!in.profile.empty()) return FromProfile(in, std::move(s));
  if (in.colocate) return Status::InvalidArgument("--colocate: needs --profile (its co-location factors)");
  Result<ir::ModelShape> shape = ShapeOf(in, true);
  if (!shape.ok()) return shape.status();
  Result<Hardware> hw = HardwareByName(in.hardware);
  if (!hw.ok()) return hw.status();
  if (!in.calibrate.empty()) {
    Result<ir::Profile> p = LoadProfileFile(in.calibrate);
    if (!p.ok()) return Status::InvalidArgument("--calibrate: " + p.status().message());
    hw = CalibrateHardware(*hw, *p);
    if (!hw.ok()) return hw.status();
  }
  const std::optional<ir::Precision> p = !in.precision.empty()
                                             ? ParsePrecisionName(in.precision)
                                             : (hw->name == "cpu" ? ir::PRECISION_FP32 : ir::PRECISION_BF16);
  if (!p) return Status::InvalidArgument("--precision: must be fp32 or bf16, not '" + in.precision + "'");
  s.model = *shape;
  s.microbatch = in.microbatch_size ? in.microbatch_size : 8;
  PACI_RETURN_IF_ERROR(CheckModelSize(s.model, s.microbatch));
  s.layers = LayerCostsOnHardware(s.model, s.microbatch, *p, *hw);
  s.memory_cap_bytes = in.memory_cap_gb ? *in.memory_cap_gb * kGiB : hw->memory_bytes;
  return s;
}

}  // namespace paci::sim
