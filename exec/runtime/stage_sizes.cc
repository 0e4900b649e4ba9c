#include "exec/runtime/stage_sizes.h"

namespace paci::exec {

ir::CostModel StageSizes(const TrainConfig& train, const ir::Schedule& schedule,
                         const std::vector<LayerRange>& ranges, int activation_bytes) {
  const ParamLayout layout = gpt_param_layout(train.model);
  const uint32_t P = schedule.spec().stages();
  const uint64_t tokens = static_cast<uint64_t>(train.B) * train.model.block_size;
  ir::CostModel cost;
  for (uint32_t s = 0; s < P; ++s) {
    uint64_t params = 0;
    for (size_t v = s; v < ranges.size(); v += P)
      params += layout.layer_offset[ranges[v].last] - layout.layer_offset[ranges[v].first];
    ir::StageCost& c = *cost.add_stages();
    c.set_weight_bytes(params * 4);          // fp32 master weights
    c.set_gradient_bytes(params * 4);
    c.set_optimizer_state_bytes(params * 8);  // AdamW m and v
    c.set_message_bytes(tokens * train.model.n_embd * static_cast<uint64_t>(activation_bytes));
  }
  cost.set_tokens_per_microbatch(tokens);
  return cost;
}

}  // namespace paci::exec
