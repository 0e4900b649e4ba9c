// libFuzzer target: profile files (`paci profile -o`, sim/profile_file.h), then what
// `paci predict --profile` and `--calibrate` do with an accepted one: the layers' costs, a
// partition and cost model for a small pipeline with and without co-location, the simulator's
// check of that cost model, and a calibration of the "cpu" device.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "sim/model_cost.h"
#include "sim/profile_file.h"
#include "sim/stage_cost_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string json(reinterpret_cast<const char*>(data), size);
  paci::Result<paci::ir::Profile> profile = paci::sim::ProfileFromJson(json, "fuzz.json");
  if (!profile.ok()) return 0;

  paci::sim::ModelCostSetup setup;
  setup.model = profile->model();
  setup.microbatch = profile->microbatch_size();
  setup.layers = paci::sim::LayerCostsFromProfile(*profile);
  setup.link = {"fuzz", 1e10, 5e-6};
  setup.colocate = profile->colocation_size() > 0;
  setup.profile = *profile;

  paci::ir::PipelineSpec spec;
  spec.set_kind(paci::ir::ONE_F_ONE_B_FLUSH);
  spec.set_stages(static_cast<uint32_t>(std::min<size_t>(setup.layers.size(), 3)));
  spec.set_microbatches_per_iteration(4);
  paci::Result<paci::ir::CostModel> cost = paci::sim::CostModelForSpec(setup, spec);
  if (cost.ok()) (void)paci::sim::StageCostModel::Create(*cost, spec.stages(), 1);

  paci::Result<paci::sim::Hardware> cpu = paci::sim::HardwareByName("cpu");
  if (cpu.ok()) (void)paci::sim::CalibrateHardware(*cpu, *profile);
  return 0;
}
