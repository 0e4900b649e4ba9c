// RunLoader: opens a trace store and loads runs off the UI thread (hotspot's parser + job
// tracker). Results and errors come back as queued signals with a request number, so a slow load
// the user has since replaced is dropped; errors are messages, never exceptions or aborts.
// The source is shared with the worker under a mutex: one thread uses it at a time.
#pragma once

#include <QObject>
#include <QString>
#include <memory>
#include <mutex>
#include <vector>

#include "gui/model/run_source.h"
#include "gui/model/trace_index.h"

namespace paci::gui {

struct LoadedRun {
  RunTrace trace;
  std::shared_ptr<const TraceIndex> index;
};

class RunLoader : public QObject {
  Q_OBJECT
 public:
  explicit RunLoader(QObject* parent = nullptr);
  ~RunLoader() override;

  // Replaces the source (a store file or memory). Returns false and emits failed() on error.
  bool openStore(const QString& path);
  void setSource(std::unique_ptr<RunSource> source);
  QString sourceName() const;

  // Runs of the current source; emits failed() and returns empty on error.
  std::vector<RunSummary> listRuns();
  // Starts loading; returns the request number that loaded()/failed() will carry.
  int load(int64_t run_id, LoadDetail detail = LoadDetail::kWhole);
  // Loads in the calling thread (screenshots, tests). nullptr and *error on failure.
  std::shared_ptr<LoadedRun> loadNow(int64_t run_id, QString* error,
                                     LoadDetail detail = LoadDetail::kWhole);

 signals:
  void progress(int request, double fraction);
  void loaded(int request, std::shared_ptr<paci::gui::LoadedRun> run);
  void failed(int request, const QString& message);

 private:
  struct Shared {
    std::mutex mu;
    std::unique_ptr<RunSource> source;
  };
  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
  int next_request_ = 0;
};

// Load and index one run; the worker body of RunLoader, callable from any thread.
Result<std::shared_ptr<LoadedRun>> LoadAndIndex(RunSource& source, int64_t run_id,
                                                const LoadProgress& progress,
                                                LoadDetail detail = LoadDetail::kWhole);

}  // namespace paci::gui
