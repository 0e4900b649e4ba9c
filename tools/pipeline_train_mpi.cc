#include "tools/pipeline_train_mpi.h"

#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <optional>

#include "exec/model/checkpoint.h"
#include "exec/runtime/exchange_plan.h"
#include "exec/runtime/rank_group.h"
#include "exec/runtime/transport_factory.h"
#include "proto/exit_codes.h"
#include "store/trace_store.h"
#include "tools/interrupt_guard.h"
#include "tools/pipeline_metrics.h"

namespace paci::cli {

void RunRanks(const exec::TrainConfig& cfg, const PipelineTrainFlags& f, const exec::DataSplit& data,
              const ir::Schedule& schedule, const exec::PipelineConfig& pc,
              const std::function<store::RunInfo()>& run_info) {
  Result<std::unique_ptr<exec::RankGroup>> joined = exec::JoinRanks();
  if (!joined.ok()) Fail(kExitBadInput, "--transport " + f.transport + ": " + joined.status().message());
  exec::RankGroup& session = **joined;
  const uint32_t rank = static_cast<uint32_t>(session.rank());
  const bool last = rank + 1 == static_cast<uint32_t>(session.size());
  if (static_cast<uint32_t>(session.size()) != f.stages) {
    if (rank == 0)
      std::fprintf(stderr, "paci train: --stages %u but mpirun started %d ranks\n", f.stages, session.size());
    session.AbortJob(2);
  }
  std::optional<store::TraceStore> db;
  std::optional<store::RunWriter> writer;
  int64_t run_id = 0;
  // A failure here must end every rank (AbortJob), not unwind into MPI_Finalize while peers wait.
  const auto open_store = [&] {
    Result<store::TraceStore> s = store::TraceStore::Open(f.db);
    if (!s.ok()) {
      std::fprintf(stderr, "paci train: rank %u: --db: %s\n", rank, s.status().message().c_str());
      std::fflush(stderr);
      session.AbortJob(2);
    }
    db.emplace(std::move(*s));
  };
  if (rank == 0 && !f.no_db) {
    open_store();
    Result<store::RunWriter> w = db->BeginRun(run_info());
    if (!w.ok()) {
      std::fprintf(stderr, "paci train: --db: %s\n", w.status().message().c_str());
      session.AbortJob(1);
    }
    run_id = w->run_id();
    writer.emplace(std::move(*w));
  }
  // mpirun passes SIGTERM and SIGINT on to every rank: rank 0, whose writer began the run, marks
  // it failed ('interrupted') before it ends, as a threads run does (issue 25); the other ranks end
  // by the signal's default action.
  std::optional<InterruptGuard> guard;
  if (writer) guard.emplace(f.db, run_id);
  run_id = session.Broadcast(run_id, 0);
  if (rank != 0 && run_id != 0) {
    open_store();
    Result<store::RunWriter> w = db->AttachRun(run_id);
    if (!w.ok()) {
      std::fprintf(stderr, "paci train: --db: %s\n", w.status().message().c_str());
      session.AbortJob(1);
    }
    writer.emplace(std::move(*w));
  }
  if (f.transport == "nccl") {
    // NCCL sends wait for their receives: refuse a schedule whose exchanges could deadlock.
    if (Result<std::vector<std::vector<PlainOp>>> plan = exec::PlanExchanges(schedule); !plan.ok()) {
      if (rank == 0)
        std::fprintf(stderr, "paci train: --transport nccl: %s\n", plan.status().message().c_str());
      std::fflush(stderr);
      session.AbortJob(2);
    }
  }
  Result<exec::RankTransport> made = exec::MakeTransport(f.transport, session, f.device, pc.recv_timeout);
  if (!made.ok()) {
    std::fprintf(stderr, "paci train: rank %u: --transport %s: %s\n", rank, f.transport.c_str(),
                 made.status().message().c_str());
    session.AbortJob(2);
  }
  if (f.transport == "nccl")
    std::printf("rank %u: stage %u on GPU %d (node-local rank %d, from %s)\n", rank, rank, made->gpu,
                session.local_rank(), session.local_rank_source());
  std::unique_ptr<exec::Transport> inner = std::move(made->transport);
  std::unique_ptr<exec::Transport> transport = exec::WrapWithFault(std::move(inner), pc.fault);
  session.Barrier();  // the ranks' clocks start together
  PrintingSink sink(writer ? &*writer : nullptr, last);
  // Every rank's first op waits for the others' set-up, as the threads' do.
  Result<exec::PipelineResult> r =
      exec::TrainPipelineStage(schedule, pc, data, *transport, &sink, [&] { session.Barrier(); });
  if (!r.ok()) {
    std::fprintf(stderr, "paci train: rank %u: %s\n", rank, r.status().message().c_str());
    std::fflush(stderr);
    // Keeps what this rank measured; the writer that began the run (rank 0) also stores it failed.
    // A failure on another rank reaches rank 0 only as AbortJob, so there the run stays "running".
    if (writer)
      (void)writer->Finish(store::RunStatus::kFailed, fmt::format("rank {}: {}", rank, r.status().message()));
    session.AbortJob(1);
  }
  if (last && !f.save.empty()) {
    // The last rank gathered every slice's weights and moments (TrainPipelineStage).
    const Status st = exec::pipeline_checkpoint_save(f.save, cfg.model, r->state);
    if (!st.ok()) {
      std::fprintf(stderr, "paci train: --save: %s\n", st.message().c_str());
      std::fflush(stderr);
      session.AbortJob(1);
    }
    std::printf("saved %s and %s (%lld updates)\n", f.save.c_str(), exec::optim_path(f.save).c_str(),
                static_cast<long long>(r->state.updates));
  }
  StoreStageMetrics(writer ? &*writer : nullptr, rank, r->stages[0]);
  StoreGradientStaleness(writer ? &*writer : nullptr, rank, schedule);
  if (last) StoreRunMetrics(writer ? &*writer : nullptr, cfg, *r);
  if (writer) (void)writer->Flush();
  session.Barrier();  // every rank's events are committed before rank 0 marks the run complete
  if (rank == 0 && writer) {
    const Status st = writer->Finish(store::RunStatus::kComplete);
    if (!st.ok()) std::fprintf(stderr, "paci train: --db: %s\n", st.message().c_str());
    std::printf("stored measured run %lld in %s\n", static_cast<long long>(run_id), f.db.c_str());
  }
}

}  // namespace paci::cli
