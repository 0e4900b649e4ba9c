// MergeStores: copies the complete runs of several stores (e.g. one per rank of a split study) into
// one, with their ops, op tiles, memory samples, updates, metrics and links, under new run ids. The
// copy is one transaction on the target, so a merge that fails leaves it as it was; sources are
// only read (an older one through a migrated private copy). What makes two runs "the same" is the
// caller's (a study point, study/study_point.h): the store does not know studies.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "proto/status.h"
#include "store/run_info.h"

namespace paci::store {

// What identifies a run for duplicate detection (equal keys: the same grid point and seed);
// nullopt for a run that is no such point (a simulation), which is never a duplicate.
using RunKeyFn = std::function<std::optional<std::string>(const RunRecord&)>;

struct MergeOptions {
  RunKeyFn key;  // unset: no duplicate detection
  // A run whose key the target (or an earlier source) already holds: refused (false: the merge
  // fails naming both runs) or skipped (true: the run already there is kept).
  bool skip_duplicates = false;
  // Copies runs, updates, metrics, links and memory samples, not the per-op trace (ops, op_tiles);
  // such runs read as having no ops (op_count 0). A new target is then VACUUMed.
  bool without_ops = false;
  int busy_timeout_ms = 30000;
};

// One run of a source that was not copied, and why.
struct SkippedRun {
  int64_t source_id = 0;
  std::string reason;  // "failed", "running", or "duplicate of run N of FILE"
};

struct SourceMerge {
  std::string path;
  std::vector<std::pair<int64_t, int64_t>> copied;  // (id in the source, id in the target)
  std::vector<SkippedRun> skipped;
  int64_t links = 0;          // links copied
  int64_t links_dropped = 0;  // links with an end that was not copied
};

struct MergeResult {
  std::vector<SourceMerge> sources;
  bool target_created = false;
};

// Merges `sources` into `target` (created when absent). Only complete runs are copied: failed and
// running runs are skipped and reported. Runs keep their source's order; links between two copied
// runs of one source are kept, remapped. Fails, leaving the target byte-identical (a target created
// by the merge is removed), on: a missing or foreign source, a source or target of a newer schema,
// a damaged file, a source given twice or equal to the target, a refused duplicate, a write error.
// An existing target of an older schema is migrated first, as every writer does. Errors name the file.
Result<MergeResult> MergeStores(const std::vector<std::string>& sources, const std::string& target,
                                const MergeOptions& options);

}  // namespace paci::store
