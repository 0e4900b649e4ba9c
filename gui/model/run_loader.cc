#include "gui/model/run_loader.h"

#include <QFutureWatcher>
#include <QPromise>
#include <QtConcurrent/QtConcurrentRun>

namespace paci::gui {

Result<std::shared_ptr<LoadedRun>> LoadAndIndex(RunSource& source, int64_t run_id,
                                                const LoadProgress& progress, LoadDetail detail) {
  auto trace = source.LoadRun(run_id, progress, detail);
  if (!trace.ok()) return trace.status();
  auto run = std::make_shared<LoadedRun>();
  run->trace = std::move(*trace);
  if (progress) progress(0.85);
  run->index = run->trace.index ? run->trace.index
                                : std::make_shared<const TraceIndex>(
                                      TraceIndex::Build(run->trace.ops, run->trace.spec.stages()));
  if (progress) progress(1.0);
  return run;
}

RunLoader::RunLoader(QObject* parent) : QObject(parent) {
  qRegisterMetaType<std::shared_ptr<paci::gui::LoadedRun>>();
}

RunLoader::~RunLoader() = default;

bool RunLoader::openStore(const QString& path) {
  auto source = OpenStoreSource(path.toStdString());
  if (!source.ok()) {
    emit failed(-1, QString::fromStdString(source.status().ToString()));
    return false;
  }
  setSource(std::move(*source));
  return true;
}

void RunLoader::setSource(std::unique_ptr<RunSource> source) {
  // A new Shared: workers still reading the old source keep it alive until they finish.
  auto fresh = std::make_shared<Shared>();
  fresh->source = std::move(source);
  shared_ = std::move(fresh);
}

QString RunLoader::sourceName() const {
  std::lock_guard lock(shared_->mu);
  return shared_->source ? QString::fromStdString(shared_->source->Describe()) : QString();
}

std::vector<RunSummary> RunLoader::listRuns() {
  std::lock_guard lock(shared_->mu);
  if (!shared_->source) return {};
  auto runs = shared_->source->ListRuns();
  if (!runs.ok()) {
    emit failed(-1, QString::fromStdString(runs.status().ToString()));
    return {};
  }
  return std::move(*runs);
}

namespace {
struct LoadResult {
  std::shared_ptr<LoadedRun> run;
  QString error;
};
}  // namespace

int RunLoader::load(int64_t run_id, LoadDetail detail) {
  const int request = ++next_request_;
  auto shared = shared_;
  // The watcher lives in this (UI) thread and is a child: if the loader goes away mid-load the
  // worker finishes unobserved instead of signalling a dead object.
  auto* watcher = new QFutureWatcher<LoadResult>(this);
  connect(watcher, &QFutureWatcher<LoadResult>::progressValueChanged, this,
          [this, request](int permille) { emit progress(request, permille / 1000.0); });
  connect(watcher, &QFutureWatcher<LoadResult>::finished, this, [this, watcher, request] {
    watcher->deleteLater();
    const LoadResult r = watcher->result();
    if (r.run) emit loaded(request, r.run); else emit failed(request, r.error);
  });
  watcher->setFuture(QtConcurrent::run([shared, run_id, detail](QPromise<LoadResult>& promise) {
    promise.setProgressRange(0, 1000);
    std::lock_guard lock(shared->mu);
    if (!shared->source) {
      promise.addResult(LoadResult{nullptr, tr("no store is open")});
      return;
    }
    auto run = LoadAndIndex(*shared->source, run_id, [&](double f) {
      promise.setProgressValue(static_cast<int>(f * 1000));
      return !promise.isCanceled();
    }, detail);
    promise.addResult(run.ok() ? LoadResult{*run, {}}
                               : LoadResult{nullptr, QString::fromStdString(run.status().ToString())});
  }));
  return request;
}

std::shared_ptr<LoadedRun> RunLoader::loadNow(int64_t run_id, QString* error, LoadDetail detail) {
  std::lock_guard lock(shared_->mu);
  if (!shared_->source) {
    if (error) *error = tr("no store is open");
    return nullptr;
  }
  auto run = LoadAndIndex(*shared_->source, run_id, {}, detail);
  if (!run.ok()) {
    if (error) *error = QString::fromStdString(run.status().ToString());
    return nullptr;
  }
  return *run;
}

}  // namespace paci::gui
