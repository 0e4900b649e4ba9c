#include "tools/pipeline_train.h"
#include "tools/spec_flags.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "exec/pipeline_trainer.h"
#include "exec/train.h"
#include "proto/ir_names.h"
#include "sched/schedule_generator.h"
#include "sched/schedule_validator.h"
#include "store/trace_store.h"
#include "tools/exit_codes.h"
#ifdef PACI_HAVE_MPI
#include "exec/mpi_transport.h"
#endif

namespace paci::cli {
namespace {

ir::Schedule BuildSchedule(const exec::TrainConfig& cfg, const PipelineTrainFlags& f) {
  const Result<ir::ScheduleKind> kind = ScheduleKindFromFlag(f.schedule);
  if (!kind.ok()) Fail(2, kind.status().message());
  ir::PipelineSpec spec;
  spec.set_kind(*kind);
  spec.set_stages(f.stages);
  spec.set_chunks(f.chunks);
  // --accum is the micro-batches per optimizer update for every schedule, so runs compare at
  // the same effective batch; a flush schedule's M defaults to it.
  const uint64_t updates = static_cast<uint64_t>(cfg.updates);
  if (IsFlushSchedule(*kind)) {
    const uint32_t M = f.microbatches > 0 ? f.microbatches : static_cast<uint32_t>(cfg.accum);
    spec.set_microbatches_per_iteration(M);
    spec.set_total_microbatches(updates * M);
  } else {
    const uint32_t K = *kind == ir::PIPEDREAM ? 1 : static_cast<uint32_t>(cfg.accum);
    spec.set_accum(K);
    spec.set_total_microbatches(updates * K);
  }
  Result<ir::Schedule> schedule = GenerateSchedule(spec);
  if (!schedule.ok()) Fail(2, schedule.status().message());
  const Status valid = ValidateSchedule(*schedule);
  if (!valid.ok()) Fail(1, "generated schedule is invalid: " + valid.message());
  return *schedule;
}

// Sizes the simulator needs to replay this run: weights, gradients, optimizer state and messages
// per stage, tokens per micro-batch. Times are left for `paci predict` to fit.
ir::CostModel SizesOf(const exec::TrainConfig& cfg, const ir::Schedule& schedule,
                      const std::vector<exec::LayerRange>& ranges) {
  const exec::ParamLayout layout = exec::gpt_param_layout(cfg.model);
  const uint32_t P = schedule.spec().stages();
  ir::CostModel cost;
  for (uint32_t s = 0; s < P; ++s) {
    uint64_t params = 0;
    for (size_t v = s; v < ranges.size(); v += P)
      params += layout.layer_offset[ranges[v].last] - layout.layer_offset[ranges[v].first];
    ir::StageCost& c = *cost.add_stages();
    c.set_weight_bytes(params * 4);
    c.set_gradient_bytes(params * 4);
    c.set_optimizer_state_bytes(params * 8);
    c.set_message_bytes(static_cast<uint64_t>(cfg.B) * cfg.model.block_size * cfg.model.n_embd * 4);
  }
  cost.set_tokens_per_microbatch(static_cast<uint64_t>(cfg.B) * cfg.model.block_size);
  return cost;
}

std::string Describe(const exec::TrainConfig& cfg, const PipelineTrainFlags& f) {
  nlohmann::json j = {{"model", {{"layers", cfg.model.n_layer}, {"dim", cfg.model.n_embd},
                                 {"heads", cfg.model.n_head}, {"seq", cfg.model.block_size},
                                 {"vocab", cfg.model.vocab_size}}},
                      {"microbatch_size", cfg.B}, {"accum", cfg.accum}, {"updates", cfg.updates},
                      {"lr", cfg.lr}, {"warmup", cfg.warmup}, {"seed", cfg.seed},
                      {"transport", f.transport}};
  return j.dump();
}

store::RunInfo MakeRunInfo(const exec::TrainConfig& cfg, const PipelineTrainFlags& f,
                           const ir::Schedule& schedule, const ir::CostModel& sizes) {
  store::RunInfo info;
  info.kind = store::RunKind::kMeasured;
  info.name = !f.name.empty() ? f.name
                              : fmt::format("{} P={} K={}", f.schedule, f.stages, cfg.accum);
  info.schedule = schedule;
  info.spec = schedule.spec();
  info.cost_model = sizes;
  info.description = Describe(cfg, f);
#ifdef PACI_GIT_REVISION
  info.code_revision = PACI_GIT_REVISION;
#endif
  return info;
}

// Prints each update's loss as it happens and forwards everything to the store (if any).
class PrintingSink : public TraceSink {
 public:
  PrintingSink(TraceSink* inner, bool print) : inner_(inner), print_(print) {}
  void OnOp(const ir::TraceEvent& e) override { if (inner_) inner_->OnOp(e); }
  void OnMemory(const ir::MemorySample& m) override { if (inner_) inner_->OnMemory(m); }
  void OnUpdate(const ir::UpdateMetric& m) override {
    if (print_) {
      std::printf("update %5llu | loss %.4f | lr %.2e | %.1f s\n",
                  static_cast<unsigned long long>(m.update()), m.loss(), m.learning_rate(),
                  static_cast<double>(m.wall_ns()) / 1e9);
      std::fflush(stdout);
    }
    if (inner_) inner_->OnUpdate(m);
  }
  Status Flush() override { return inner_ ? inner_->Flush() : Status::Ok(); }

 private:
  TraceSink* inner_;
  bool print_;
};

void StoreStageMetrics(store::RunWriter* w, uint32_t stage, const exec::StageReport& r) {
  if (!w) return;
  (void)w->SetMetric(fmt::format("peak_memory_bytes_stage{}", stage), static_cast<double>(r.peak_bytes));
  (void)w->SetMetric(fmt::format("max_drift_stage{}", stage), static_cast<double>(r.max_drift));
  (void)w->SetMetric(fmt::format("weight_versions_stage{}", stage), r.weight_versions);
  (void)w->SetMetric(fmt::format("activation_bytes_stage{}", stage), static_cast<double>(r.activation_bytes));
}

void StoreRunMetrics(store::RunWriter* w, const exec::TrainConfig& cfg, const exec::PipelineResult& r) {
  const double tokens = static_cast<double>(r.updates.empty() ? 0 : r.updates.back().tokens());
  if (w) {
    (void)w->SetMetric("val_loss", r.val_loss);
    (void)w->SetMetric("train_loss", r.updates.empty() ? NAN : r.updates.back().loss());
    (void)w->SetMetric("seconds", r.seconds);
    (void)w->SetMetric("tokens_per_s", tokens / r.seconds);
    (void)w->SetMetric("updates", static_cast<double>(r.updates.size()));
    (void)w->SetMetric("time_per_update_ms", r.seconds * 1e3 / std::max<size_t>(1, r.updates.size()));
  }
  std::printf("trained %zu updates in %.1f s, %.0f tokens/s; final train loss %.4f, val loss %.4f "
              "(uniform: %.4f)\n",
              r.updates.size(), r.seconds, tokens / r.seconds,
              r.updates.empty() ? NAN : r.updates.back().loss(), r.val_loss,
              std::log(static_cast<double>(cfg.model.vocab_size)));
}

exec::PipelineConfig MakePipelineConfig(const exec::TrainConfig& cfg, const PipelineTrainFlags& f) {
  exec::PipelineConfig pc;
  pc.train = cfg;
  pc.partition = f.partition;
  if (f.recv_timeout_s < 1) Fail(2, "--recv-timeout must be at least 1 second");
  pc.recv_timeout = std::chrono::seconds(f.recv_timeout_s);
  if (!f.inject_fault.empty()) {
    Result<exec::FaultSpec> fault = exec::ParseFaultSpec(f.inject_fault);
    if (!fault.ok()) Fail(2, fault.status().message());
    pc.fault = *fault;
  }
  return pc;
}

std::optional<store::TraceStore> OpenStore(const PipelineTrainFlags& f) {
  if (f.no_db) return std::nullopt;
  Result<store::TraceStore> s = store::TraceStore::Open(f.db);
  if (!s.ok()) Fail(2, "--db: " + s.status().message());
  return std::move(*s);
}

void RunThreads(const exec::TrainConfig& cfg, const PipelineTrainFlags& f, const exec::DataSplit& data,
                const ir::Schedule& schedule, const exec::PipelineConfig& pc,
                const std::vector<exec::LayerRange>& ranges) {
  std::optional<store::TraceStore> db = OpenStore(f);
  std::optional<store::RunWriter> writer;
  if (db) {
    Result<store::RunWriter> w = db->BeginRun(MakeRunInfo(cfg, f, schedule, SizesOf(cfg, schedule, ranges)));
    if (!w.ok()) Fail(1, "--db: " + w.status().message());
    writer.emplace(std::move(*w));
  }
  PrintingSink sink(writer ? &*writer : nullptr, true);
  Result<exec::PipelineResult> r = exec::TrainPipelineThreads(schedule, pc, data, &sink);
  if (!r.ok()) {
    if (writer) (void)writer->Finish(store::RunStatus::kFailed, r.status().message());
    Fail(1, r.status().message());
  }
  for (uint32_t s = 0; s < r->stages.size(); ++s) StoreStageMetrics(writer ? &*writer : nullptr, s, r->stages[s]);
  StoreRunMetrics(writer ? &*writer : nullptr, cfg, *r);
  if (writer) {
    const Status st = writer->Finish(store::RunStatus::kComplete);
    if (!st.ok()) Fail(1, "--db: " + st.message());
    std::printf("stored measured run %lld in %s\n", static_cast<long long>(writer->run_id()), f.db.c_str());
  }
}

#ifdef PACI_HAVE_MPI
void RunMpi(const exec::TrainConfig& cfg, const PipelineTrainFlags& f, const exec::DataSplit& data,
            const ir::Schedule& schedule, const exec::PipelineConfig& pc,
            const std::vector<exec::LayerRange>& ranges) {
  exec::MpiSession session(nullptr, nullptr);
  const uint32_t rank = static_cast<uint32_t>(session.rank());
  const bool last = rank + 1 == static_cast<uint32_t>(session.size());
  if (static_cast<uint32_t>(session.size()) != f.stages) {
    if (rank == 0) std::fprintf(stderr, "paci train: --stages %u but mpirun started %d ranks\n", f.stages, session.size());
    session.AbortJob(2);
  }
  std::optional<store::TraceStore> db;
  std::optional<store::RunWriter> writer;
  int64_t run_id = 0;
  if (rank == 0 && !f.no_db) {
    db = OpenStore(f);
    Result<store::RunWriter> w = db->BeginRun(MakeRunInfo(cfg, f, schedule, SizesOf(cfg, schedule, ranges)));
    if (!w.ok()) { std::fprintf(stderr, "paci train: --db: %s\n", w.status().message().c_str()); session.AbortJob(1); }
    run_id = w->run_id();
    writer.emplace(std::move(*w));
  }
  run_id = session.Broadcast(run_id, 0);
  if (rank != 0 && run_id != 0) {
    db = OpenStore(f);
    Result<store::RunWriter> w = db->AttachRun(run_id);
    if (!w.ok()) { std::fprintf(stderr, "paci train: --db: %s\n", w.status().message().c_str()); session.AbortJob(1); }
    writer.emplace(std::move(*w));
  }
  std::unique_ptr<exec::Transport> transport =
      exec::WrapWithFault(std::make_unique<exec::MpiTransport>(session), pc.fault);
  session.Barrier();  // the ranks' clocks start together
  PrintingSink sink(writer ? &*writer : nullptr, last);
  Result<exec::PipelineResult> r = exec::TrainPipelineStage(schedule, pc, data, *transport, &sink);
  if (!r.ok()) {
    std::fprintf(stderr, "paci train: rank %u: %s\n", rank, r.status().message().c_str());
    std::fflush(stderr);
    if (writer) (void)writer->Flush();  // keep what this rank measured
    session.AbortJob(1);
  }
  StoreStageMetrics(writer ? &*writer : nullptr, rank, r->stages[0]);
  if (last) StoreRunMetrics(writer ? &*writer : nullptr, cfg, *r);
  if (writer) (void)writer->Flush();
  session.Barrier();  // every rank's events are committed before rank 0 marks the run complete
  if (rank == 0 && writer) {
    const Status st = writer->Finish(store::RunStatus::kComplete);
    if (!st.ok()) std::fprintf(stderr, "paci train: --db: %s\n", st.message().c_str());
    std::printf("stored measured run %lld in %s\n", static_cast<long long>(run_id), f.db.c_str());
  }
}
#endif

}  // namespace

void AddPipelineFlags(CLI::App* cmd, PipelineTrainFlags* f) {
  cmd->add_option("--schedule", f->schedule, "pipeline schedule: " + fmt::format("{}", fmt::join(AllScheduleNames(), ", ")) +
                                                 " (default: no pipeline)");
  cmd->add_option("--stages", f->stages, "pipeline stages P")->capture_default_str();
  cmd->add_option("--microbatches", f->microbatches, "flush schedules: micro-batches per update M (default --accum)");
  cmd->add_option("--chunks", f->chunks, "interleaved-1f1b: chunks per stage V");
  cmd->add_option("--transport", f->transport, "threads | mpi (one rank per stage under mpirun)")->capture_default_str();
  cmd->add_option("--db", f->db, "trace store to record the run in")->capture_default_str();
  cmd->add_flag("--no-db", f->no_db, "do not record the run");
  cmd->add_option("--partition", f->partition, "first layer of each slice after the first, e.g. 2,4 (default: balanced)");
  cmd->add_option("--recv-timeout", f->recv_timeout_s, "seconds a stage waits for a peer before failing")->capture_default_str();
  cmd->add_option("--name", f->name, "label of the stored run");
  cmd->add_option("--inject-fault", f->inject_fault, "drill: crash:STAGE:SENDS or hang:STAGE:SENDS")->group("");
}

void RunPipelineTrain(const exec::TrainConfig& cfg, const PipelineTrainFlags& f, const exec::DataSplit& data) {
  if (f.stages < 1) Fail(2, "--stages must be at least 1");
  if (Status st = exec::train_data_check(cfg, data); !st.ok()) Fail(2, "--data: " + st.message());
  const ir::Schedule schedule = BuildSchedule(cfg, f);
  const exec::PipelineConfig pc = MakePipelineConfig(cfg, f);
  Result<std::vector<exec::LayerRange>> ranges = exec::PlanPipeline(schedule, pc);
  if (!ranges.ok()) Fail(2, ranges.status().message());
  if (f.transport == "threads") {
    RunThreads(cfg, f, data, schedule, pc, *ranges);
  } else if (f.transport == "mpi") {
#ifdef PACI_HAVE_MPI
    RunMpi(cfg, f, data, schedule, pc, *ranges);
#else
    Fail(2, "--transport mpi: this build has no MPI (install libopenmpi-dev and rebuild)");
#endif
  } else {
    Fail(2, "--transport must be threads or mpi, not '" + f.transport + "'");
  }
}

}  // namespace paci::cli
