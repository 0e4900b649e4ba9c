#include "tests/gui/demo_runs.h"

#include <cmath>
#include <random>

#include "gui/model/explorer_config.h"
#include "proto/ir_names.h"
#include "sched/schedule_generator.h"
#include "sim/simulator.h"
#include "store/trace_store.h"

namespace paci::guitest {
namespace {

struct DemoRun {
  std::string name;
  store::RunKind kind = store::RunKind::kPredicted;
  gui::ExplorerConfig config;
  double jitter_cv = 0;
  int straggler = -1;
  double loss_per_update_penalty = 0;  // synthetic curves: drift makes each update a bit worse
  int updates = 0;                     // synthetic loss records (0: none)
};

// A made-up but plausible loss curve: exponential decay to a floor, seeded noise, wall time from
// the simulated time per optimizer update.
void WriteSyntheticCurve(const DemoRun& d, int64_t ns_per_update, TraceSink& sink) {
  std::mt19937_64 rng(d.updates * 7919 + d.name.size());
  std::normal_distribution<double> noise(0, 0.03);
  for (int u = 1; u <= d.updates; ++u) {
    ir::UpdateMetric m;
    m.set_update(u);
    const double progress = u * (1.0 - d.loss_per_update_penalty);
    m.set_loss(2.2 + 6.0 * std::exp(-progress / 45.0) + noise(rng));
    m.set_val_loss(u % 10 == 0 ? 2.3 + 6.0 * std::exp(-progress / 45.0) : std::nan(""));
    m.set_learning_rate(3e-4);
    m.set_wall_ns(u * ns_per_update);
    sink.OnUpdate(m);
  }
}

Result<int64_t> WriteRun(store::TraceStore& ts, const DemoRun& d) {
  Result<ir::PipelineSpec> spec = gui::SpecOf(d.config);
  if (!spec.ok()) return spec.status();
  Result<ir::CostModel> typed = gui::CostOf(*gui::MakePaciSimBackend(), d.config, *spec);
  if (!typed.ok()) return typed.status();
  ir::CostModel cost = *typed;
  if (d.jitter_cv > 0 || d.straggler >= 0) {
    cost.mutable_jitter()->set_cv(d.jitter_cv);
    cost.mutable_jitter()->set_seed(7);
    cost.mutable_jitter()->set_straggler_stage(d.straggler);
    cost.mutable_jitter()->set_straggler_factor(d.straggler >= 0 ? 1.15 : 0);
  }
  auto schedule = GenerateSchedule(*spec);
  if (!schedule.ok()) return schedule.status();
  store::RunInfo info;
  info.kind = d.kind;
  info.name = d.name;
  info.schedule = *schedule;
  info.spec = schedule->spec();
  info.cost_model = cost;
  info.description = "paci-gui-demo-store";
  auto writer = ts.BeginRun(info, store::WriterOptions{.batch_events = 1 << 15});
  if (!writer.ok()) return writer.status();
  sim::SimulationOptions o;
  o.sink = &*writer;
  auto result = sim::Simulate(*schedule, cost, o);
  if (!result.ok()) return result.status();
  if (d.updates > 0) {
    const uint64_t per_update = IsFlushSchedule(spec->kind()) ? schedule->spec().microbatches_per_iteration()
                                                              : schedule->spec().accum();
    const int64_t ns = result->makespan_ns * static_cast<int64_t>(per_update) /
                       static_cast<int64_t>(std::max<uint64_t>(result->microbatches, 1));
    WriteSyntheticCurve(d, ns, *writer);
  }
  PACI_RETURN_IF_ERROR(writer->SetMetric("makespan_ns", static_cast<double>(result->makespan_ns)));
  // What `paci simulate` stores beside it: the run list shows it (as "mb/s" without tokens).
  PACI_RETURN_IF_ERROR(
      writer->SetMetric("throughput_microbatches_per_s", result->throughput_microbatches_per_s));
  if (result->tokens_per_s > 0) PACI_RETURN_IF_ERROR(writer->SetMetric("tokens_per_s", result->tokens_per_s));
  PACI_RETURN_IF_ERROR(writer->Finish(store::RunStatus::kComplete));
  return writer->run_id();
}

// k: micro-batches per update for every schedule (a flush schedule's M).
DemoRun Make(const std::string& name, ir::ScheduleKind kind, uint32_t p, uint32_t k) {
  DemoRun d;
  d.name = name;
  d.config.kind = kind;
  d.config.stages = p;
  d.config.accum = k;
  d.config.chunks = kind == ir::INTERLEAVED_1F1B ? 2 : 1;
  return d;
}

}  // namespace

Result<DemoIds> WriteDemoStore(const std::string& path, const DemoOptions& options) {
  auto ts = store::TraceStore::Open(path);
  if (!ts.ok()) return ts.status();
  DemoIds ids;
  std::vector<DemoRun> runs;
  DemoRun predicted = Make("paci P=4 K=4", ir::PACI, 4, 4);
  predicted.config.total_microbatches = 32;
  predicted.updates = 300;
  predicted.loss_per_update_penalty = 0.03;
  DemoRun measured = predicted;
  measured.name = "paci P=4 K=4, synthetic measurement (jittered sim)";
  measured.kind = store::RunKind::kMeasured;
  measured.jitter_cv = 0.08;
  measured.straggler = 2;
  DemoRun flush = Make("1f1b-flush P=4 M=8", ir::ONE_F_ONE_B_FLUSH, 4, 8);
  flush.config.total_microbatches = 32;
  flush.updates = 300;
  for (const DemoRun& d : {predicted, measured, flush}) {
    auto id = WriteRun(*ts, d);
    if (!id.ok()) return id.status();
    ids.all.push_back(*id);
  }
  ids.predicted = ids.all[0];
  ids.measured = ids.all[1];
  ids.flush = ids.all[2];
  PACI_RETURN_IF_ERROR(ts->LinkPrediction(ids.predicted, ids.measured));
  for (const DemoRun& d :
       {Make("gpipe P=4 M=8", ir::GPIPE, 4, 8), Make("zb-h1 P=4 M=8", ir::ZB_H1, 4, 8),
        Make("interleaved P=4 V=2 M=8", ir::INTERLEAVED_1F1B, 4, 8),
        Make("pipedream-2bw P=4 K=4", ir::PIPEDREAM_2BW, 4, 4), Make("paci P=8 K=2", ir::PACI, 8, 2)}) {
    auto id = WriteRun(*ts, d);
    if (!id.ok()) return id.status();
    ids.all.push_back(*id);
  }
  if (options.large_ops > 0) {
    // PACI P=8 plays about 5.5 ops per stage per micro-batch (F, B, sends, receives, steps).
    DemoRun large = Make("paci P=8 K=8 (large)", ir::PACI, 8, 8);
    large.config.total_microbatches = (options.large_ops / (8 * 5) + 8) / 8 * 8;
    auto id = WriteRun(*ts, large);
    if (!id.ok()) return id.status();
    ids.large = *id;
    ids.all.push_back(*id);
  }
  return ids;
}

}  // namespace paci::guitest
