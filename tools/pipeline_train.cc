#include "tools/pipeline_train.h"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <optional>

#include "exec/model/affinity.h"
#include "exec/model/checkpoint.h"
#include "exec/model/threads.h"
#include "exec/model/train.h"
#include "exec/runtime/device_factory.h"
#include "exec/runtime/pipeline_checkpoint.h"
#include "exec/runtime/pipeline_trainer.h"
#include "exec/runtime/stage_sizes.h"
#include "exec/runtime/transport_factory.h"
#include "proto/exit_codes.h"
#include "proto/ir_names.h"
#include "sched/checked_math.h"
#include "sched/limits.h"
#include "sched/schedule_generator.h"
#include "sched/schedule_validator.h"
#include "sched/staleness_check.h"
#include "sched/weight_version_analysis.h"
#include "store/trace_store.h"
#include "study/run_record.h"
#include "tools/code_revision.h"
#include "tools/interrupt_guard.h"
#include "tools/pipeline_metrics.h"
#include "tools/pipeline_train_mpi.h"
#include "tools/spec_flags.h"

namespace paci::cli {
namespace {

// The schedule of this run's segment: `updates` optimizer updates (after a resumed checkpoint's).
ir::Schedule BuildSchedule(const exec::TrainConfig& cfg, const PipelineTrainFlags& f, uint64_t updates) {
  // The one reading of the flags (spec_flags.h): --accum is the micro-batches per optimizer
  // update for every schedule, so runs compare at the same effective batch.
  SpecFlags flags;
  flags.schedule = f.schedule;
  flags.stages = f.stages;
  flags.chunks = f.chunks;
  flags.accum = static_cast<uint32_t>(cfg.accum);
  flags.updates = updates;
  const Result<ir::PipelineSpec> spec = SpecFromFlags(flags);
  if (!spec.ok()) Fail(kExitBadInput, spec.status().message());
  Result<ir::Schedule> schedule = GenerateSchedule(*spec);
  if (!schedule.ok()) Fail(kExitBadInput, schedule.status().message());
  const Status valid = ValidateSchedule(*schedule);
  if (!valid.ok()) Fail(kExitRuntimeError, "generated schedule is invalid: " + valid.message());
  return *schedule;
}

}  // namespace

study::RunChoices RunChoicesOf(const exec::TrainConfig& cfg, const PipelineTrainFlags& f) {
  study::RunChoices c;
  c.grad_clip = cfg.grad_clip;
  c.schedule = f.schedule;
  c.transport = f.transport;
  c.device = f.device;
  c.precision = f.precision;
  c.resumed_from = f.resume;
  c.data_files = f.data_files;
  c.data_tokens = f.data_tokens;
  c.data_fingerprint = f.data_fingerprint;
  c.pipemare_lr_warmup = f.pipemare_lr_warmup;
  c.drift_lr_scale = f.drift_lr_scale;
  // drift-lr-scale keeps its own field (and so its runs' identity) whichever flag asked for it.
  if (Result<Staleness> s = StalenessOf(f); s.ok() && s->on()) {
    if (s->kind == StalenessKind::kDriftLrScale)
      c.drift_lr_scale = s->param;
    else
      c.staleness = StalenessText(*s);
  }
  c.chunks = f.chunks;
  return c;
}

namespace {

store::RunInfo MakeRunInfo(const exec::TrainConfig& cfg, const PipelineTrainFlags& f,
                           const ir::Schedule& schedule, const std::vector<exec::LayerRange>& ranges) {
  store::RunInfo info;
  info.kind = store::RunKind::kMeasured;
  info.name = !f.name.empty() ? f.name : fmt::format("{} P={} K={}", f.schedule, f.stages, cfg.accum);
  info.schedule = schedule;
  info.spec = schedule.spec();
  study::RunChoices choices = RunChoicesOf(cfg, f);
  choices.partition = ranges;
  Result<ir::RunSetup> setup = study::BuildRunSetup(cfg, choices);
  if (!setup.ok()) Fail(kExitBadInput, setup.status().message());
  info.cost_model = exec::StageSizes(cfg, schedule, ranges, PrecisionElementBytes(setup->precision()));
  // The runs table's configuration columns (store/run_info.h), from the record.
  info.config.microbatch_size = setup->microbatch_size();
  info.config.accum = setup->accum();
  info.config.tokens_per_update = static_cast<int64_t>(setup->tokens_per_update());
  info.config.lr = setup->lr();
  info.config.seed = static_cast<int64_t>(setup->seed());
  info.config.precision = PrecisionName(setup->precision());
  info.config.device = setup->device();
  info.setup = *std::move(setup);
  info.code_revision = CodeRevision();
  return info;
}

// --pin: each stage thread (and the OpenMP workers it starts) on its own exec_threads() CPUs, so
// stages never share a core - only when they fit; otherwise the OS shares the CPUs among them.
// Under MPI each rank is a process, and binding ranks is mpirun's job (--bind-to core).
std::vector<std::vector<int>> PlanPinning(const PipelineTrainFlags& f) {
  if (f.pin != "auto" && f.pin != "on" && f.pin != "off")
    Fail(kExitBadInput, "--pin must be auto, on or off, not '" + f.pin + "'");
  if (f.pin == "off") return {};
  if (f.transport != "threads") {
    if (f.pin == "on")
      Fail(kExitBadInput,
           "--pin applies to --transport threads; under mpirun bind the ranks with --bind-to core");
    return {};
  }
  const std::vector<int> allowed = exec::allowed_cpus();
  const int threads = exec::exec_threads();
  std::vector<std::vector<int>> cpus;
  for (uint32_t s = 0; s < f.stages; ++s)
    cpus.push_back(exec::stage_cpus(allowed, static_cast<int>(s), threads));
  const uint64_t needed = static_cast<uint64_t>(f.stages) * static_cast<uint64_t>(threads);
  if (cpus.empty() || cpus.back().empty()) {
    if (f.pin == "on")
      Fail(kExitBadInput,
           fmt::format("--pin on: {} stages x {} kernel threads need {} CPUs, this process may use {}; lower "
                       "--threads or --stages, or use --pin auto",
                       f.stages, threads, needed, allowed.size()));
    std::fprintf(stderr,
                 "paci train: stage threads not pinned: %llu threads, %zu CPUs, so the OS shares them\n",
                 static_cast<unsigned long long>(needed), allowed.size());
    return {};
  }
  if (f.pin == "auto" && f.stages == 1) return {};
  std::string line = "paci train: stage threads pinned:";
  for (size_t s = 0; s < cpus.size(); ++s)
    line += fmt::format("{} stage {} -> CPU {}", s == 0 ? "" : ",", s, fmt::join(cpus[s], "+"));
  std::fprintf(stderr, "%s\n", line.c_str());
  return cpus;
}

exec::PipelineConfig MakePipelineConfig(const exec::TrainConfig& cfg, const PipelineTrainFlags& f) {
  exec::PipelineConfig pc;
  pc.train = cfg;
  pc.partition = f.partition;
  pc.pipemare.lr_warmup = f.pipemare_lr_warmup;
  Result<Staleness> staleness = StalenessOf(f);
  if (!staleness.ok()) Fail(kExitBadInput, staleness.status().message());
  pc.staleness = *staleness;
  pc.stage_cpus = PlanPinning(f);
  if (f.recv_timeout_s < 1) Fail(kExitBadInput, "--recv-timeout must be at least 1 second");
  pc.recv_timeout = std::chrono::seconds(f.recv_timeout_s);
  if (!f.inject_fault.empty()) {
    Result<exec::FaultSpec> fault = exec::ParseFaultSpec(f.inject_fault);
    if (!fault.ok()) Fail(kExitBadInput, fault.status().message());
    pc.fault = *fault;
  }
  return pc;
}

std::optional<store::TraceStore> OpenStore(const PipelineTrainFlags& f) {
  if (f.no_db) return std::nullopt;
  Result<store::TraceStore> s = store::TraceStore::Open(f.db);
  if (!s.ok()) Fail(kExitBadInput, "--db: " + s.status().message());
  return std::move(*s);
}

void PrintPartition(const std::vector<exec::LayerRange>& ranges, uint32_t P) {
  std::string line = "partition (layers [first, last) per stage; 0 = embedding, last = head):";
  for (size_t v = 0; v < ranges.size(); ++v)
    line += fmt::format(" {}{}:[{},{})", v % P, v >= P ? fmt::format(".{}", v / P) : "", ranges[v].first,
                        ranges[v].last);
  std::printf("%s\n", line.c_str());
}

void RunThreads(const exec::TrainConfig& cfg, const PipelineTrainFlags& f, const exec::DataSplit& data,
                const ir::Schedule& schedule, const exec::PipelineConfig& pc,
                const std::vector<exec::LayerRange>& ranges) {
  std::optional<store::TraceStore> db = OpenStore(f);
  std::optional<store::RunWriter> writer;
  if (db) {
    Result<store::RunWriter> w = db->BeginRun(MakeRunInfo(cfg, f, schedule, ranges));
    if (!w.ok()) Fail(kExitRuntimeError, "--db: " + w.status().message());
    writer.emplace(std::move(*w));
  }
  // Until the run is finished, SIGTERM and SIGINT mark it failed before they end the process.
  std::optional<InterruptGuard> guard;
  if (writer) guard.emplace(f.db, writer->run_id());
  PrintingSink sink(writer ? &*writer : nullptr, true);
  Result<exec::PipelineResult> r = exec::TrainPipelineThreads(schedule, pc, data, &sink);
  if (!r.ok()) {
    // The store's failure is the cause when there is one (the stages only stopped for it); a run
    // deleted under the writer is gone, so nothing is marked.
    if (writer && !writer->Failure().ok()) Fail(kExitRuntimeError, "--db: " + writer->Failure().message());
    if (writer) (void)writer->Finish(store::RunStatus::kFailed, r.status().message());
    Fail(kExitRuntimeError, r.status().message());
  }
  if (!f.save.empty()) {
    const Status st = exec::pipeline_checkpoint_save(f.save, cfg.model, r->state);
    if (!st.ok()) Fail(kExitRuntimeError, "--save: " + st.message());
    std::printf("saved %s and %s (%lld updates)\n", f.save.c_str(), exec::optim_path(f.save).c_str(),
                static_cast<long long>(r->state.updates));
  }
  for (uint32_t s = 0; s < r->stages.size(); ++s) {
    StoreStageMetrics(writer ? &*writer : nullptr, s, r->stages[s]);
    StoreGradientStaleness(writer ? &*writer : nullptr, s, schedule);
  }
  StoreRunMetrics(writer ? &*writer : nullptr, cfg, *r);
  if (writer) {
    const Status st = writer->Finish(store::RunStatus::kComplete);
    if (!st.ok()) Fail(kExitRuntimeError, "--db: " + st.message());
    std::printf("stored measured run %lld in %s\n", static_cast<long long>(writer->run_id()), f.db.c_str());
  }
}

}  // namespace

void AddPipelineFlags(CLI::App* cmd, PipelineTrainFlags* f) {
  cmd->add_option("--schedule", f->schedule,
                  "pipeline schedule: " + fmt::format("{}", fmt::join(AllScheduleNames(), ", ")) +
                      " (default: no pipeline)");
  cmd->add_option("--stages", f->stages, "pipeline stages P")->capture_default_str();
  cmd->add_option("--microbatches", f->microbatches,
                  "run length in micro-batches instead of --updates (N = updates x --accum)");
  cmd->add_option("--chunks", f->chunks, "interleaved-1f1b: chunks per stage V");
  cmd->add_option("--transport", f->transport, "threads | mpi (one rank per stage under mpirun) | nccl")
      ->capture_default_str();
  cmd->add_option("--device", f->device, "cpu | cuda (every stage on one GPU, one stream each)")
      ->capture_default_str();
  cmd->add_option("--precision", f->precision, "--device cuda: fp32 | bf16 activations (default bf16)");
  cmd->add_option("--db", f->db, "trace store to record the run in")->capture_default_str();
  cmd->add_flag("--no-db", f->no_db, "do not record the run");
  cmd->add_option("--partition", f->partition,
                  "first layer of each slice after the first, e.g. 2,4 (default: balanced)");
  cmd->add_option("--recv-timeout", f->recv_timeout_s, "seconds a stage waits for a peer before failing")
      ->capture_default_str();
  cmd->add_option("--name", f->name, "label of the stored run");
  cmd->add_option(
         "--pipemare-lr-warmup", f->pipemare_lr_warmup,
         "--schedule pipemare: updates over which the per-stage lr scale tau^-p anneals p from 1 to 0")
      ->capture_default_str();
  cmd->add_option("--drift-lr-scale", f->drift_lr_scale,
                  "staleness mitigation (no memory): each step's lr / (1 + A x the mean drift of its "
                  "micro-batches), A in "
                  "[0, 1000]; "
                  "schedules whose micro-batches cross weight versions only (paci, pipemare); the same as "
                  "--staleness drift-lr-scale=A")
      ->capture_default_str();
  cmd->add_option(
      "--staleness", f->staleness,
      "staleness compensation, no persistent memory (docs/method.md 9): " + StalenessNames() +
          ", optionally NAME=A (default A 1): drift-lr-scale and stage-lr scale the lr, rewind runs "
          "the backward at AdamW's estimate of the forward's weights, predict the forward at the "
          "backward's, delay-comp corrects the gradient (DC-ASGD); schedules where weights move only");
  cmd->add_option(
         "--pin", f->pin,
         "stage threads on their own CPUs: auto (when stages x threads fit the CPUs this process may "
         "use) | on (refused if they do not fit) | off; --transport threads only")
      ->capture_default_str();
  cmd->add_option("--inject-fault", f->inject_fault,
                  "drill: crash:STAGE:SENDS, hang:STAGE:SENDS or device:STAGE:OPS")
      ->group("");
  f->cmd = cmd;
}

namespace {

// Refuses, with exit code 2 and the flag's name, every flag this pipelined run cannot honour.
void CheckApplicable(const PipelineTrainFlags& f) {
  if (f.device != "cpu" && f.device != "cuda")
    Fail(kExitBadInput, "--device must be cpu or cuda, not '" + f.device + "'");
  if (f.transport != "threads" && f.transport != "mpi" && f.transport != "nccl")
    Fail(kExitBadInput, "--transport must be threads, mpi or nccl, not '" + f.transport + "'");
  if (!f.precision.empty() && f.device != "cuda")
    Fail(kExitBadInput, "--precision applies to --device cuda only; the CPU trains in fp32");
  if (!f.precision.empty() && !ParsePrecisionName(f.precision))
    Fail(kExitBadInput, "--precision must be fp32 or bf16, not '" + f.precision + "'");
  if (f.transport == "nccl" && f.device != "cuda")
    Fail(kExitBadInput, "--transport nccl needs --device cuda");
  if (f.cmd && f.cmd->count("--pipemare-lr-warmup") > 0 && f.schedule != ScheduleName(ir::PIPEMARE))
    Fail(kExitBadInput, "--pipemare-lr-warmup applies to --schedule pipemare only, not '" + f.schedule + "'");
  if (f.pipemare_lr_warmup < 1) Fail(kExitBadInput, "--pipemare-lr-warmup must be at least 1 update");
}

// The device's backend, from exec's factory: a device this build lacks (or, for cuda, no usable
// GPU) exits 2 naming --device and what to do; then a transport this build lacks, naming the
// CMake option that builds it.
exec::BackendFactory MakeBackend(const PipelineTrainFlags& f) {
  Result<exec::BackendFactory> backend =
      exec::MakeStageBackend(f.device, study::RunPrecision(f.device, f.precision));
  if (!backend.ok()) Fail(kExitBadInput, "--device " + f.device + ": " + backend.status().message());
  if (Status built = exec::TransportBuilt(f.transport); !built.ok())
    Fail(kExitBadInput, "--transport " + f.transport + ": " + built.message());
  return std::move(*backend);
}

}  // namespace

std::string GivenPipelineOnlyFlag(const PipelineTrainFlags& f) {
  if (!f.cmd) return "";
  for (const char* name : {"--stages", "--chunks", "--transport", "--device", "--precision", "--db",
                           "--no-db", "--partition", "--recv-timeout", "--name", "--inject-fault",
                           "--pipemare-lr-warmup", "--drift-lr-scale", "--staleness", "--pin"})
    if (f.cmd->count(name) > 0) return name;
  return "";
}

namespace {

// The scale in [0, kMaxDriftLrScale]: infinity made every lr 0 x inf = NaN and stored NaN curves as
// a complete run (issue 25); beyond the bound the lr is ~0 at any drift, which trains nothing.
Status DriftLrScaleInRange(double scale) {
  return CheckRange(scale, 0, kMaxDriftLrScale, "--drift-lr-scale");
}

// --stages is 1..kMaxStages (sched/limits.h), as every schedule generator requires.
Status StagesInRange(uint32_t stages) {
  if (stages >= 1 && stages <= kMaxStages) return Status::Ok();
  return Status::InvalidArgument(
      fmt::format("--stages must be in [1, {}] (kMaxStages, sched/limits.h), got {}", kMaxStages, stages));
}

}  // namespace

Result<Staleness> StalenessOf(const PipelineTrainFlags& f) {
  PACI_RETURN_IF_ERROR(DriftLrScaleInRange(f.drift_lr_scale));
  if (!f.staleness.empty() && f.drift_lr_scale > 0)
    return Status::InvalidArgument(
        "--drift-lr-scale: give --staleness drift-lr-scale=A or --drift-lr-scale A, not both with "
        "--staleness");
  if (f.drift_lr_scale > 0) return Staleness{StalenessKind::kDriftLrScale, f.drift_lr_scale};
  if (f.staleness.empty()) return Staleness{};
  return ParseStaleness(f.staleness);
}

namespace {

// Rewind, predict and delay-comp have no CUDA kernels yet (the backend refuses them too).
Status StalenessOnDevice(const Staleness& s, const std::string& device) {
  if (RunsOnCuda(s.kind) || device != "cuda") return Status::Ok();
  return Status::InvalidArgument(fmt::format(
      "--staleness {}: not on --device cuda yet (no kernel); drift-lr-scale and stage-lr run there",
      StalenessText(s)));
}

}  // namespace

Status CheckTrainArgs(const TrainArgs& t) {
  PACI_RETURN_IF_ERROR(exec::train_config_check(t.cfg));
  if (t.pipe.schedule.empty()) return Status::Ok();
  PACI_RETURN_IF_ERROR(StagesInRange(t.pipe.stages));
  Result<Staleness> staleness = StalenessOf(t.pipe);
  if (!staleness.ok()) return staleness.status();
  PACI_RETURN_IF_ERROR(StalenessOnDevice(*staleness, t.pipe.device));
  // PlanPipeline's refusal, made before training so that a study refuses it once (issue 25: a
  // study re-run with --grad-clip skipped points its identity could not tell apart).
  if (t.cfg.grad_clip > 0)
    return Status::InvalidArgument(
        "--grad-clip: global gradient clipping needs an all-reduce across stages, which these pipelines "
        "do not have; use --grad-clip 0");
  SpecFlags flags;  // the schedule rules, as BuildSchedule reads them
  flags.schedule = t.pipe.schedule;
  flags.stages = t.pipe.stages;
  flags.chunks = t.pipe.chunks;
  flags.accum = static_cast<uint32_t>(t.cfg.accum);
  flags.updates = static_cast<uint64_t>(t.cfg.updates);
  return SpecFromFlags(flags).status();
}

// A compensation acts on drift or stale gradients: refused where this schedule has none, with
// the flag that asked for it.
void CheckStaleness(const PipelineTrainFlags& f, const ir::Schedule& schedule) {
  Result<Staleness> s = StalenessOf(f);
  if (!s.ok()) Fail(kExitBadInput, s.status().message());
  const char* flag = f.drift_lr_scale > 0 ? "--drift-lr-scale" : "--staleness";
  Status st = CheckStalenessApplies(*s, schedule, flag);
  if (st.code() == Status::Code::kInternal) Fail(kExitRuntimeError, st.message());
  if (!st.ok()) Fail(kExitBadInput, st.message());
  if (Status on = StalenessOnDevice(*s, f.device); !on.ok()) Fail(kExitBadInput, on.message());
}

void RunPipelineTrain(const exec::TrainConfig& cfg, const PipelineTrainFlags& f,
                      const exec::DataSplit& data) {
  if (Status st = StagesInRange(f.stages); !st.ok()) Fail(kExitBadInput, st.message());
  if (Status st = exec::train_data_check(cfg, data); !st.ok()) Fail(kExitBadInput, "--data: " + st.message());
  CheckApplicable(f);
  exec::BackendFactory backend = MakeBackend(f);
  exec::PipelineConfig pc = MakePipelineConfig(cfg, f);
  std::optional<exec::PipelineState> resumed;
  if (!f.resume.empty()) {
    Result<exec::PipelineState> st = exec::pipeline_checkpoint_load(f.resume, cfg.model, cfg.sampler);
    if (!st.ok()) Fail(kExitBadInput, "--resume: " + st.status().message());
    if (st->updates >= cfg.updates)
      Fail(kExitBadInput, fmt::format("--resume: {} holds {} updates; --updates {} leaves none to train",
                                      f.resume, st->updates, cfg.updates));
    resumed = std::move(*st);
    pc.resume = &*resumed;
    std::printf("resuming %s at update %lld (written by %s)\n", f.resume.c_str(),
                static_cast<long long>(resumed->updates),
                resumed->schedule.empty() ? "unpipelined training" : resumed->schedule.c_str());
  }
  const int64_t start = resumed ? resumed->updates : 0;
  const ir::Schedule schedule = BuildSchedule(cfg, f, static_cast<uint64_t>(cfg.updates - start));
  CheckStaleness(f, schedule);
  pc.eval_every = f.eval_every;
  pc.keep_state = !f.save.empty();
  pc.backend = std::move(backend);
  Result<std::vector<exec::LayerRange>> ranges = exec::PlanPipeline(schedule, pc);
  if (!ranges.ok()) Fail(kExitBadInput, ranges.status().message());
  if (f.transport == "threads") {
    PrintPartition(*ranges, f.stages);
    RunThreads(cfg, f, data, schedule, pc, *ranges);
  } else {
    RunRanks(cfg, f, data, schedule, pc, [&] { return MakeRunInfo(cfg, f, schedule, *ranges); });
  }
}

}  // namespace paci::cli
