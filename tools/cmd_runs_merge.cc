// `paci runs merge A.db B.db ... --db ALL.db`: joins stores written apart (one per rank of a split
// study, `paci study --db 'study.rank{rank}.db'`) into one. The copy is store/store_merge.h; what
// makes two runs one grid point and seed is the study's (study/study_point.h).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proto/exit_codes.h"
#include "store/store_merge.h"
#include "study/study_point.h"
#include "tools/commands.h"

namespace paci::cli {
namespace {

struct MergeFlags {
  std::vector<std::string> sources;
  std::string db;
  bool skip_duplicates = false;
  bool without_ops = false;
};

// A measured run's study point and seed; other runs are never duplicates.
std::optional<std::string> StudyKey(const store::RunRecord& r) {
  if (r.info.kind != store::RunKind::kMeasured) return std::nullopt;
  std::optional<study::StudyPoint> p = study::PointOfRun(r);
  if (!p) return std::nullopt;
  return study::PointKey(*p);
}

std::string Ids(const std::vector<std::pair<int64_t, int64_t>>& copied) {
  if (copied.empty()) return "";
  const bool contiguous =
      copied.back().first - copied.front().first == static_cast<int64_t>(copied.size()) - 1 &&
      copied.back().second - copied.front().second == copied.back().first - copied.front().first;
  if (contiguous)
    return fmt::format(" (ids {}..{} -> {}..{})", copied.front().first, copied.back().first,
                       copied.front().second, copied.back().second);
  std::string s = " (ids";
  for (const auto& [from, to] : copied) s += fmt::format(" {}->{}", from, to);
  return s + ")";
}

void Merge(const MergeFlags& f) {
  store::MergeOptions options;
  options.key = StudyKey;
  options.skip_duplicates = f.skip_duplicates;
  options.without_ops = f.without_ops;
  const bool existed = std::filesystem::exists(f.db);
  Result<store::MergeResult> r = store::MergeStores(f.sources, f.db, options);
  if (!r.ok())
    Fail(kExitBadInput,
         r.status().message() + " (" + f.db + (existed ? " is unchanged)" : " was not created)"));
  size_t copied = 0;
  for (const store::SourceMerge& s : r->sources) {
    copied += s.copied.size();
    fmt::print("{}: {} run(s) copied{}{}, {} link(s)\n", s.path, s.copied.size(), Ids(s.copied),
               f.without_ops ? " without ops" : "", s.links);
    for (const store::SkippedRun& k : s.skipped) fmt::print("  skipped run {}: {}\n", k.source_id, k.reason);
    if (s.links_dropped) fmt::print("  {} link(s) to a skipped run not copied\n", s.links_dropped);
  }
  fmt::print("{}: {} run(s) merged from {} store(s){}\n", f.db, copied, r->sources.size(),
             r->target_created ? " into a new store" : "");
}

}  // namespace

void AddRunsMergeCommand(CLI::App* runs) {
  auto f = std::make_shared<MergeFlags>();
  CLI::App* merge = runs->add_subcommand(
      "merge", "copy the complete runs of other stores into --db, under new ids, in one transaction");
  merge->add_option("STORES", f->sources, "stores to copy from (only read)")->required();
  merge->add_option("--db", f->db, "the store to merge into (created when absent)")->required();
  merge->add_flag(
      "--skip-duplicates", f->skip_duplicates,
      "a run of a study point and seed already merged is skipped (default: the merge is refused)");
  merge->add_flag(
      "--without-ops", f->without_ops,
      "copy runs, updates, metrics, links and memory samples, not the per-op trace (ops, op tiles)");
  merge->footer(
      "Failed and running runs are skipped and listed. A merge that fails leaves --db as it was and exits 2 "
      "naming the file.");
  merge->callback([f] { Merge(*f); });
}

}  // namespace paci::cli
