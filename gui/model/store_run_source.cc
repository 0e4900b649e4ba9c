// RunSource over the SQLite trace store (store/trace_store.h), opened read-only so the viewer
// never locks a file another process is writing; a store of an older schema (which no current
// writer has open: writers migrate on open) is migrated once first.
#include <algorithm>
#include <memory>
#include <mutex>

#include "gui/model/run_source.h"
#include "gui/model/sim_backend.h"
#include "sched/op_trace.h"
#include "sched/pipeline_spec.h"
#include "store/run_metrics.h"
#include "store/trace_store.h"

namespace paci::gui {
namespace {

// A stored run's spec as read: an old store's chunks 0 normalized, as on reading a schedule file.
ir::PipelineSpec SpecRead(const store::RunRecord& r) {
  ir::PipelineSpec spec = r.info.spec;
  NormalizeChunks(&spec);
  return spec;
}

RunSummary Summarize(const store::RunRecord& r) {
  RunSummary s;
  s.id = r.id;
  s.kind = r.info.kind == store::RunKind::kMeasured ? RunKind::kMeasured : RunKind::kPredicted;
  s.name = r.info.name;
  FillSummaryFromSpec(SpecRead(r), &s);
  // K as the store's configuration reads it: micro-batches per optimizer update, for every
  // schedule (a flush schedule's M), so runs at the same effective batch show the same K.
  if (r.info.config.accum) s.accum = static_cast<uint32_t>(*r.info.config.accum);
  s.lr = r.info.config.lr;
  s.seed = r.info.config.seed;
  s.op_count = r.op_count;
  s.replayed = r.op_storage == store::OpStorage::kReplayed;
  s.state = store::RunStateName(r.state);
  s.start_unix_ns = r.start_unix_ns;
  return s;
}

// Ops per TraceIndex row (stage x lane) of a schedule as an engine reports it, one op per IR op
// in its kind's lane: the builder then places every op once. Empty for a run without its IR.
std::vector<size_t> RowSizesOf(const store::RunRecord& r) {
  if (!r.info.schedule) return {};
  const uint32_t stages = std::max<uint32_t>(r.info.spec.stages(), 1);
  std::vector<size_t> rows(size_t{stages} * kLanesPerStage, 0);
  for (const ir::StageStream& stream : r.info.schedule->streams()) {
    if (stream.stage() >= stages) return {};
    auto count = [&](const auto& ops, uint64_t times) {
      for (const ir::Op& op : ops) rows[size_t{stream.stage()} * kLanesPerStage + LaneOf(op.kind())] += times;
    };
    count(stream.prefix(), 1);
    count(stream.body(), stream.body_repeats());
    count(stream.suffix(), 1);
  }
  size_t total = 0;
  for (size_t n : rows) total += n;
  return static_cast<int64_t>(total) == r.op_count ? rows : std::vector<size_t>{};
}

// Runs with more ops than this are indexed while they are read and keep no TraceEvent copies
// (a 10 M-op run would otherwise hold ~1 GiB of messages beside its index).
constexpr int64_t kEventsUpTo = 1000000;

// A window source with its own read-only connection, so window loads never wait for the run
// list or another run's load.
class StoreWindowSource : public OpWindowSource {
 public:
  StoreWindowSource(store::TraceStore store, store::RunRecord record)
      : store_(std::move(store)), record_(std::move(record)) {}
  Result<Window> Load(int64_t t0_ns, int64_t t1_ns, int64_t max_ops) override {
    std::lock_guard lock(mu_);
    auto w = store_.LoadOpWindow(record_.id, t0_ns, t1_ns, max_ops);
    if (!w.ok()) return w.status();
    // What the timeline indexes by stage is checked, as LoadRun checks a whole run: a
    // hand-edited row must not make the viewer allocate rows for a stage a billion.
    store::RunData checked;
    checked.record = record_;
    checked.ops = std::move(w->ops);
    const std::string where = store_.path() + ": run " + std::to_string(record_.id);
    if (Status st = store::CheckRunData(checked, where); !st.ok()) return Status::Corruption(st.message());
    return Window{std::move(checked.ops), w->truncated};
  }

 private:
  std::mutex mu_;
  store::TraceStore store_;
  store::RunRecord record_;
};

std::shared_ptr<const RunOverview> OverviewOf(const store::OpTileSummary& s, uint32_t stages) {
  std::vector<RunOverview::Tile> tiles;
  tiles.reserve(s.tiles.size());
  for (const store::OpTile& t : s.tiles) tiles.push_back({t.stage, t.lane, t.tile, t.busy_ns, t.ops});
  return std::make_shared<const RunOverview>(stages, s.tile_ns, s.last_end_ns - s.first_start_ns, s.op_count,
                                             tiles);
}

class StoreRunSource : public RunSource {
 public:
  StoreRunSource(store::TraceStore store, int64_t windowed_above)
      : store_(std::move(store)), windowed_above_(windowed_above) {}
  std::string Describe() const override { return store_.path(); }

  Result<std::vector<RunSummary>> ListRuns() override {
    auto runs = store_.ListRuns();
    if (!runs.ok()) return runs.status();
    auto headlines = store::LoadRunHeadlines(store_);
    if (!headlines.ok()) return headlines.status();
    std::vector<RunSummary> out;
    for (const auto& r : *runs) {
      RunSummary& s = out.emplace_back(Summarize(r));
      auto h = headlines->find(r.id);
      if (h == headlines->end()) continue;
      s.val_loss = h->second.val_loss;
      s.tokens_per_s = h->second.tokens_per_s;
      s.microbatches_per_s = h->second.microbatches_per_s;
      s.makespan_ns = h->second.makespan_ns;
      s.makespan_error_pct = h->second.makespan_error_pct;
      s.partner = h->second.partner;
    }
    return out;
  }

  Result<RunTrace> LoadRun(int64_t id, const LoadProgress& progress, LoadDetail detail) override {
    // The store reads a run in one call; progress moves at its start and end only.
    if (progress && !progress(0.05)) return Status::Internal("cancelled");
    auto data = store_.LoadRunWithoutOps(id);
    if (!data.ok()) return data.status();
    RunTrace t;
    t.summary = Summarize(data->record);
    t.spec = SpecRead(data->record);
    t.cost_model = data->record.info.cost_model;
    t.updates = std::move(data->updates);
    // A long run opens on the timeline from its summary, its ops loaded a window at a time: a
    // run stored op by op reads its op_tiles, a replayed one is tiled as it is re-simulated and
    // re-simulated for each window (9 M ops held whole took 1.46 GB; issue 30).
    if (detail == LoadDetail::kWindowed && data->record.op_count > windowed_above_) {
      auto windowed = LoadWindowed(data->record, &t);
      if (!windowed.ok()) return windowed.status();
      if (*windowed) return t;  // else no summary yet (a running run): read it whole
    }
    if (data->record.op_count > kEventsUpTo) {
      // A long run goes from the store (or its re-simulation) straight into the index.
      TraceIndexBuilder builder(t.spec.stages(), RowSizesOf(data->record), store::kMaxRunStages);
      PACI_RETURN_IF_ERROR(store_.PlayRun(id, builder));
      if (progress && !progress(0.6)) return Status::Internal("cancelled");
      std::stable_sort(builder.memory.begin(), builder.memory.end(),
                       [](const ir::MemorySample& a, const ir::MemorySample& b) {
                         return a.stage() != b.stage() ? a.stage() < b.stage() : a.time_ns() < b.time_ns();
                       });
      t.memory = std::move(builder.memory);
      auto index = std::move(builder).Finish();
      if (!index.ok())
        return Status::Corruption(store_.path() + ": run " + std::to_string(id) + ": " +
                                  index.status().message());
      t.index = std::make_shared<const TraceIndex>(std::move(*index));
    } else {
      auto full = store_.LoadRun(id);
      if (!full.ok()) return full.status();
      t.ops = std::move(full->ops);
      t.memory = std::move(full->memory);
    }
    if (progress) progress(0.8);
    return t;
  }

 private:
  // The summary and a window source instead of the ops; false when the run has no summary.
  Result<bool> LoadWindowed(const store::RunRecord& record, RunTrace* t) {
    const int64_t id = record.id;
    auto tiles = store_.LoadOpTiles(id);
    if (!tiles.ok()) return tiles.status();
    if (!tiles->has_value()) return false;
    const store::OpTileSummary& s = **tiles;
    const uint32_t stages = std::max<uint32_t>(t->spec.stages(), 1);
    t->overview = OverviewOf(s, stages);
    t->index = std::make_shared<const TraceIndex>(
        TraceIndex::ForWindow({}, stages, s.first_start_ns, s.last_end_ns - s.first_start_ns));
    auto own = store_.Reopen();
    if (!own.ok()) return own.status();
    t->windows = std::make_shared<StoreWindowSource>(std::move(*own), record);
    return true;
  }

  store::TraceStore store_;
  int64_t windowed_above_;
};

}  // namespace

Result<std::unique_ptr<RunSource>> OpenStoreSource(const std::string& path, int64_t windowed_above_ops) {
  store::OpenOptions options;
  options.create_if_missing = false;
  options.read_only = true;
  options.busy_timeout_ms = 2000;      // a viewer says "locked" after 2 s rather than hang
  options.replay = MakeStoreReplay();  // long predicted runs are re-simulated when opened
  // An older store (e.g. the recorded traces/) is read through a migrated private copy: the
  // viewer never writes the file it shows.
  auto store = store::TraceStore::Open(path, options);
  if (!store.ok()) return store.status();
  return std::unique_ptr<RunSource>(std::make_unique<StoreRunSource>(std::move(*store), windowed_above_ops));
}

}  // namespace paci::gui
