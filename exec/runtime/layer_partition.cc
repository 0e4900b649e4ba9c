#include "exec/runtime/layer_partition.h"

#include <sstream>

namespace paci::exec {

double layer_cost(const GPTConfig& cfg, int layer) {
  const double C = cfg.n_embd, T = cfg.block_size, V = cfg.vocab_size;
  switch (gpt_layer_kind(cfg, layer)) {
    case LayerKind::kEmbedding: return C;
    case LayerKind::kBlock: return 24.0 * C * C + 4.0 * T * C;
    case LayerKind::kHead: return 2.0 * C * V + 5.0 * V;
  }
  return 0.0;
}

Result<std::vector<LayerRange>> partition_balanced(const GPTConfig& cfg, int parts) {
  const int n = gpt_num_layers(cfg);
  if (parts < 1 || parts > n)
    return Status::InvalidArgument("--stages: " + std::to_string(parts) +
                                   " pipeline slices need at least that many layers; the model has " +
                                   std::to_string(n) + " (embedding, " + std::to_string(cfg.n_layer) +
                                   " blocks, head); raise --layers");
  std::vector<LayerLoad> loads(n);
  for (int i = 0; i < n; ++i) loads[i].compute = layer_cost(cfg, i);
  return PartitionLayers(loads, static_cast<uint32_t>(parts), {}, 0);
}

Result<std::vector<LayerRange>> partition_from_cuts(const GPTConfig& cfg, int parts,
                                                    const std::string& cuts) {
  std::vector<int> firsts{0};
  std::stringstream ss(cuts);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      firsts.push_back(std::stoi(item));
    } catch (...) {
      return Status::InvalidArgument("--partition: '" + item + "' is not a layer index");
    }
  }
  const int n = gpt_num_layers(cfg);
  if (static_cast<int>(firsts.size()) != parts)
    return Status::InvalidArgument("--partition: needs " + std::to_string(parts - 1) + " cut points for " +
                                   std::to_string(parts) + " slices");
  firsts.push_back(n);
  std::vector<LayerRange> out;
  for (int k = 0; k < parts; ++k) {
    if (firsts[k + 1] <= firsts[k])
      return Status::InvalidArgument("--partition: cut points must increase within 1.." +
                                     std::to_string(n - 1));
    out.push_back({firsts[k], firsts[k + 1]});
  }
  return out;
}

}  // namespace paci::exec
