// RunSource: where the viewer gets runs from. The store adapter (store_run_source.h) reads a
// SQLite trace store; MemoryRunSource holds runs built in memory (tests, the explorer, demos).
// Thread rules: LoadRun may be called from a worker thread; a source is used by one thread at a time.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gui/model/run_trace.h"
#include "proto/status.h"

namespace paci::gui {

// Called with the fraction loaded (0..1); returning false asks the loader to stop.
using LoadProgress = std::function<bool(double fraction)>;

// kWhole: every op in memory (comparison, replay). kWindowed: a long run stored op by op may come
// back as its summary plus a window source (RunTrace::overview): what the timeline needs.
enum class LoadDetail { kWhole, kWindowed };

class RunSource {
 public:
  virtual ~RunSource() = default;
  virtual std::string Describe() const = 0;  // file name or "memory", for titles and errors
  virtual Result<std::vector<RunSummary>> ListRuns() = 0;
  virtual Result<RunTrace> LoadRun(int64_t id, const LoadProgress& progress, LoadDetail detail) = 0;
};

class MemoryRunSource : public RunSource {
 public:
  // Takes the run; returns its id (ids count from 1 in insertion order unless trace has one).
  int64_t Add(RunTrace trace);
  std::string Describe() const override { return "memory"; }
  Result<std::vector<RunSummary>> ListRuns() override;
  Result<RunTrace> LoadRun(int64_t id, const LoadProgress& progress, LoadDetail detail) override;

 private:
  std::map<int64_t, RunTrace> runs_;
};

// Runs stored op by op with more ops than this open on a timeline from their summary and load
// the ops of the window in view (reading 9 M rows whole took 35 s).
inline constexpr int64_t kWindowedAboveOps = 1000000;

// Opens the trace store at path, or says why not (no store library, not a store, locked...).
// windowed_above_ops: see kWindowedAboveOps (tests lower it).
Result<std::unique_ptr<RunSource>> OpenStoreSource(const std::string& path,
                                                   int64_t windowed_above_ops = kWindowedAboveOps);

}  // namespace paci::gui
