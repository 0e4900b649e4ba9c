#include "tools/grid_share.h"

#include <fmt/format.h>

#include <charconv>
#include <optional>

namespace paci::cli {
namespace {

// A whole decimal number, or nullopt. Slurm's per-node lists ("2(x3)", "2,1") start with the count
// on the first node, which is what strict=false reads.
std::optional<int> ParseCount(const char* text, bool strict) {
  if (!text || !*text) return std::nullopt;
  const std::string s(text);
  int value = 0;
  const auto [end, err] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (err != std::errc() || end == s.data() || (strict && end != s.data() + s.size())) return std::nullopt;
  return value;
}

struct Launcher {
  const char* rank;
  const char* size;
  const char* local_size;  // per-node count; may be missing
  const char* source;
};
constexpr Launcher kLaunchers[] = {
    {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_SIZE", "OMPI_COMM_WORLD_RANK/SIZE"},
    {"PMI_RANK", "PMI_SIZE", "MPI_LOCALNRANKS", "PMI_RANK/SIZE"},
    {"SLURM_PROCID", "SLURM_STEP_NUM_TASKS", "SLURM_STEP_TASKS_PER_NODE", "SLURM_PROCID/STEP_NUM_TASKS"},
};

}  // namespace

Result<GridShare> ReadGridShare(const std::function<const char*(const char*)>& getenv) {
  for (const Launcher& l : kLaunchers) {
    const char* rank_text = getenv(l.rank);
    const char* size_text = getenv(l.size);
    if (!rank_text || !size_text) continue;
    const std::optional<int> rank = ParseCount(rank_text, true), size = ParseCount(size_text, true);
    if (!size || *size < 1)
      return Status::InvalidArgument(fmt::format("environment {}={}: not a number of ranks", l.size, size_text));
    if (!rank || *rank < 0 || *rank >= *size)
      return Status::InvalidArgument(
          fmt::format("environment {}={}: not a rank in [0, {}) ({}={})", l.rank, rank_text, *size, l.size, size_text));
    GridShare share;
    share.rank = *rank;
    share.ranks = *size;
    share.source = l.source;
    if (const std::optional<int> local = ParseCount(getenv(l.local_size), false); local && *local >= 1)
      share.local_ranks = std::min(*local, *size);
    return share;
  }
  return GridShare{};
}

}  // namespace paci::cli
