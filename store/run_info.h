// Plain structs for what the store keeps about a run: RunInfo (what a writer supplies when it
// begins a run), RunRecord (a stored run's row as read back) and RunData (a run with its events).
// Engines fill RunInfo; the CLI, viewer and metrics read RunRecord and RunData.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "paci.pb.h"
#include "proto/status.h"

namespace paci::store {

enum class RunKind { kPredicted, kMeasured };
// What is stored in runs.status. A run whose writer died stays kRunning in the file.
enum class RunStatus { kRunning, kComplete, kFailed };
// What a reader shows: kIncomplete is a kRunning run whose writer process is gone.
enum class RunState { kRunning, kIncomplete, kComplete, kFailed };

const char* RunKindName(RunKind kind);        // "predicted", "measured"
const char* RunStatusName(RunStatus status);  // "running", "complete", "failed"
const char* RunStateName(RunState state);     // ... plus "incomplete"
std::optional<RunKind> ParseRunKind(const std::string& name);
std::optional<RunStatus> ParseRunStatus(const std::string& name);

// How a run's ops and memory samples are kept. kStored: rows in `ops` and `memory` (measured runs
// always: they are the evidence). kReplayed: only what determines them (IR, cost model, seed) and
// their count and digest; readers re-simulate them (TraceStore's OpenOptions::replay).
enum class OpStorage { kStored, kReplayed };
const char* OpStorageName(OpStorage storage);  // "stored", "replayed"
std::optional<OpStorage> ParseOpStorage(const std::string& name);

// What a run was configured with, as columns of `runs` that `paci runs list`, `paci summary`,
// the viewer and plain SQL show and filter. Unset is NULL: a simulation has no learning rate.
// BeginRun fills schedule, stages and accum from the spec when they are unset.
struct RunConfig {
  std::string schedule;                    // CLI name, e.g. "paci", "1f1b-flush"
  std::optional<int64_t> stages;           // P
  std::optional<int64_t> accum;            // K: micro-batches per optimizer update
  std::optional<int64_t> microbatch_size;  // sequences per micro-batch
  std::optional<int64_t> tokens_per_update;
  std::optional<double> lr;     // peak learning rate
  std::optional<int64_t> seed;  // training seed, or the simulator's jitter seed
  std::string precision;        // "fp32", "bf16", ...; empty: unknown
  std::string device;           // "cpu", "cuda", "simulator", ...; empty: unknown
};

// Fills what is unset in *c from the spec (schedule, P, K) and cost model (tokens per update),
// and for a predicted run the simulator as device and its jitter seed.
void FillConfigFromRun(RunKind kind, const ir::PipelineSpec& spec, const std::optional<ir::CostModel>& cost,
                       RunConfig* c);
// Fills what is unset in *c from a run record (micro-batch size, K, lr, seed, tokens per update);
// anything else is left as it is.
void FillConfigFromSetup(const ir::RunSetup& setup, RunConfig* c);

struct RunInfo {
  RunKind kind = RunKind::kPredicted;
  std::string name;                      // free label, e.g. "paci P=8 K=8"
  std::optional<ir::Schedule> schedule;  // the IR the run played, when known
  ir::PipelineSpec spec;                 // copied from schedule->spec() when that is set
  std::optional<ir::CostModel> cost_model;
  std::string description;  // model and data description, free text or JSON
  // The run record `paci train` wrote (ir::RunSetup). A writer that sets it and leaves the
  // description empty stores it as the description (store/run_record_json.h); a reader gets it
  // back from the description, typed whichever version of paci wrote it; nullopt when the
  // description holds none. A run loaded and stored again keeps its description as it was.
  std::optional<ir::RunSetup> setup;
  std::string host;           // empty: filled with this machine's host name
  std::string code_revision;  // e.g. `git describe`
  RunConfig config;
};

struct RunRecord {
  int64_t id = 0;
  RunInfo info;
  int64_t writer_pid = 0;
  int64_t start_unix_ns = 0;
  std::optional<int64_t> end_unix_ns;
  RunStatus status = RunStatus::kRunning;
  RunState state = RunState::kRunning;
  std::string message;   // why it failed, when it did
  int64_t op_count = 0;  // also for replayed runs (their stored count)
  OpStorage op_storage = OpStorage::kStored;
  uint64_t ops_digest = 0;  // replayed runs: TraceDigest of their ops and memory
};

struct RunData {
  RunRecord record;
  std::vector<ir::TraceEvent> ops;        // by op id
  std::vector<ir::UpdateMetric> updates;  // by update index
  std::vector<ir::MemorySample> memory;   // by stage, then time
  std::map<std::string, double> metrics;
};

// The most stages a stored run may have: the schedule IR's limit (kMaxStages in sched/limits.h;
// the store builds on proto alone, so it keeps its own copy).
inline constexpr uint32_t kMaxRunStages = 4096;

// What readers rely on before they index by stage: every op and memory sample names a stage
// below the spec's count (or kMaxRunStages when the spec has none) and a chunk below its chunks,
// and no op ends before it starts. Errors name `source` and the first offending event.
Status CheckRunData(const RunData& run, const std::string& source);

}  // namespace paci::store
