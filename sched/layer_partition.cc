#include "sched/layer_partition.h"

#include <algorithm>
#include <limits>
#include <string>

namespace paci {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

// Checked before anything is allocated (issue 25: minutes to days).
Status CheckSize(int n, int parts) {
  if (parts < 1 || parts > n)
    return Status::InvalidArgument("partition: " + std::to_string(parts) +
                                   " slices need at least that many layers; the model has " +
                                   std::to_string(n) + " (embedding, blocks, head)");
  const double steps = static_cast<double>(parts) * (n - parts + 1) * (n + 1) / 2;
  if (steps > kMaxPartitionSteps)
    return Status::InvalidArgument(
        "partition: splitting " + std::to_string(n) + " layers into " + std::to_string(parts) +
        " stages takes ~" + std::to_string(static_cast<int64_t>(steps)) +
        " steps, beyond the limit kMaxPartitionSteps (sched/layer_partition.h) of " +
        std::to_string(static_cast<int64_t>(kMaxPartitionSteps)) + "; use fewer layers or stages");
  return Status::Ok();
}

}  // namespace

Result<std::vector<LayerSlice>> PartitionLayers(const std::vector<LayerLoad>& layers, uint32_t parts,
                                                const std::vector<uint32_t>& inflight,
                                                double memory_cap_bytes) {
  const int n = static_cast<int>(layers.size());
  const int k_max = static_cast<int>(std::min<uint32_t>(parts, INT32_MAX));
  PACI_RETURN_IF_ERROR(CheckSize(n, k_max));
  // Prefix sums, so a slice's totals are two lookups.
  std::vector<double> time(n + 1, 0), stat(n + 1, 0), act(n + 1, 0);
  for (int i = 0; i < n; ++i) {
    time[i + 1] = time[i] + layers[i].compute;
    stat[i + 1] = stat[i] + layers[i].static_bytes;
    act[i + 1] = act[i] + layers[i].activation_bytes;
  }
  auto fits = [&](int k, int j, int i) {  // slice k (0-based) = layers [j, i)
    if (memory_cap_bytes <= 0) return true;
    const double held = k < static_cast<int>(inflight.size()) ? inflight[k] : 1;
    return stat[i] - stat[j] + (act[i] - act[j]) * held <= memory_cap_bytes;
  };
  const double inf = std::numeric_limits<double>::infinity();
  // best[k][i]: the smallest largest-slice compute splitting layers [0, i) into k slices.
  std::vector<std::vector<double>> best(k_max + 1, std::vector<double>(n + 1, inf));
  std::vector<std::vector<int>> cut(k_max + 1, std::vector<int>(n + 1, 0));
  best[0][0] = 0;
  for (int k = 1; k <= k_max; ++k)
    for (int i = k; i <= n; ++i)
      for (int j = k - 1; j < i; ++j) {
        if (best[k - 1][j] == inf || !fits(k - 1, j, i)) continue;
        const double c = std::max(best[k - 1][j], time[i] - time[j]);
        if (c < best[k][i]) {
          best[k][i] = c;
          cut[k][i] = j;
        }
      }
  if (best[k_max][n] == inf)
    return Status::InvalidArgument("partition: no split of " + std::to_string(n) + " layers into " +
                                   std::to_string(parts) + " stages fits the memory cap of " +
                                   std::to_string(memory_cap_bytes / kGiB) + " GiB per stage");
  std::vector<LayerSlice> out(k_max);
  for (int k = k_max, i = n; k >= 1; --k) {
    out[k - 1] = {cut[k][i], i};
    i = cut[k][i];
  }
  return out;
}

}  // namespace paci
