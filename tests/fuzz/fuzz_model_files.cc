// libFuzzer target: model, hardware and link files (`--model`, `--hardware`, `--link` FILE;
// sim/model_cost.h), each of the three parsers on every input, then what `paci simulate --model
// --hardware --link` does with what parses: layer costs on the hardware, a partition and cost
// model for a small pipeline, and the simulator's check of that cost model. Issue 25 found type
// errors reported as internal errors and 1e308 TFLOP/s accepted in these files.
#include <cstddef>
#include <cstdint>
#include <string>

#include "sim/model_cost.h"
#include "sim/stage_cost_model.h"

namespace {

// A small model on `hw` over `link`, two stages of 1F1B-flush: every number the files gave is used.
void CostSmallPipeline(const paci::ir::ModelShape& model, const paci::sim::Hardware& hw,
                       const paci::sim::Link& link) {
  if (model.layers() > 64) return;  // the layer loop is linear; keep each input fast
  paci::sim::ModelCostSetup setup;
  setup.model = model;
  setup.microbatch = 1;
  if (!paci::sim::CheckModelSize(model, setup.microbatch).ok()) return;
  setup.layers = paci::sim::LayerCostsOnHardware(model, setup.microbatch, paci::ir::PRECISION_FP32, hw);
  setup.link = link;
  setup.memory_cap_bytes = hw.memory_bytes;
  paci::ir::PipelineSpec spec;
  spec.set_kind(paci::ir::ONE_F_ONE_B_FLUSH);
  spec.set_stages(2);
  spec.set_microbatches_per_iteration(4);
  paci::Result<paci::ir::CostModel> cost = paci::sim::CostModelForSpec(setup, spec);
  if (cost.ok()) (void)paci::sim::StageCostModel::Create(*cost, spec.stages(), 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  paci::Result<paci::ir::ModelShape> model = paci::sim::ModelFromJson(text, "fuzz.json");
  paci::Result<paci::sim::Hardware> hw = paci::sim::HardwareFromJson(text, "fuzz.json");
  paci::Result<paci::sim::Link> link = paci::sim::LinkFromJson(text, "fuzz.json");
  const paci::Result<paci::ir::ModelShape> gpt2 = paci::sim::ModelByName("gpt2");
  const paci::Result<paci::sim::Hardware> h100 = paci::sim::HardwareByName("h100");
  const paci::Result<paci::sim::Link> nvlink = paci::sim::LinkByName("nvlink4");
  paci::ir::ModelShape small = *gpt2;
  small.set_layers(2);
  if (model.ok()) CostSmallPipeline(*model, *h100, *nvlink);
  if (hw.ok()) CostSmallPipeline(small, *hw, *nvlink);
  if (link.ok()) CostSmallPipeline(small, *h100, *link);
  return 0;
}
