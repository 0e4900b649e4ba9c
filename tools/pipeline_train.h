// `paci train --schedule NAME --stages P ...`: pipelined training of the GPT model with any
// schedule IR, on the CPU or a GPU (--device), over threads or MPI ranks, stored as a measured run,
// with checkpoints (--save/--resume) and validation (--eval-every). cmd_train.cc parses the model
// and data flags and hands over here when --schedule is given.
#pragma once

#include <string>
#include <vector>

#include "exec/model/data.h"
#include "exec/model/train.h"
#include "proto/status.h"
#include "sched/staleness.h"
#include "study/run_record.h"

namespace CLI {
class App;
}

namespace paci::cli {

struct PipelineTrainFlags {
  std::string schedule;  // empty: unpipelined training
  uint32_t stages = 1;
  uint64_t microbatches = 0;  // run length in micro-batches, instead of --updates (spec_flags.h)
  uint32_t chunks = 0;
  std::string transport = "threads";
  std::string db = "paci.db";
  bool no_db = false;
  std::string partition;
  int recv_timeout_s = 60;
  std::string inject_fault;
  std::string name;
  std::string device = "cpu";
  std::string precision;             // --device cuda: fp32 | bf16 (default bf16)
  int64_t pipemare_lr_warmup = 100;  // updates over which PipeMare anneals its per-stage lr scale
  double drift_lr_scale = 0;         // --drift-lr-scale A: --staleness drift-lr-scale=A, as runs before it
  std::string staleness;             // --staleness NAME[=X] (sched/staleness.h); empty: none
  std::string pin = "auto";          // stage threads on their own CPUs: auto (when they fit) | on | off
  // The corpus as a study tells corpora apart (study/study_point.h): the --data files as given and
  // the token stream's length and fingerprint. No files: the default corpus, which adds nothing.
  std::vector<std::string> data_files;
  uint64_t data_tokens = 0, data_fingerprint = 0;
  // Shared with unpipelined training (cmd_train.cc fills them).
  std::string save, resume;
  int eval_every = 0;       // 0: validation loss at the end only
  CLI::App* cmd = nullptr;  // to tell which flags were given
};

// A `paci train` command line as the trainer reads it, without training: what a study needs to
// know about a point before it runs (defined in cmd_train.cc, with train's own flag parser).
struct TrainArgs {
  exec::TrainConfig cfg;
  PipelineTrainFlags pipe;
};
Result<TrainArgs> ReadTrainArgs(const std::vector<std::string>& args);  // args after "train"

// What `paci train ARGS` refuses before it reads data or trains, naming the flag: the numbers
// (exec::train_config_check), --stages, the schedule and run-length rules (spec_flags.h) and
// --drift-lr-scale's range. A study checks every point with it, so a bad grid exits 2 once
// instead of failing in every child (issue 25).
Status CheckTrainArgs(const TrainArgs& t);

// --drift-lr-scale's documented range: [0, this].
inline constexpr double kMaxDriftLrScale = 1000;

// The compensation --staleness or --drift-lr-scale asks for (not both), its text checked; the
// schedule-dependent checks come when the schedule is built.
Result<Staleness> StalenessOf(const PipelineTrainFlags& flags);

// The run record's inputs beyond exec::TrainConfig (study/run_record.h), from the flags; the
// partition is left to the trainer, which knows it once the model is split.
study::RunChoices RunChoicesOf(const exec::TrainConfig& cfg, const PipelineTrainFlags& flags);

// Adds --schedule, --stages, --microbatches, --chunks, --transport, --device, --precision, --db,
// --no-db, --partition, --recv-timeout, --name, --pipemare-lr-warmup, --drift-lr-scale, --staleness, --pin
// and the hidden --inject-fault.
void AddPipelineFlags(CLI::App* cmd, PipelineTrainFlags* flags);

// The flags above that were given although no --schedule was (unpipelined training ignores
// them); empty when none. cmd_train.cc refuses them.
std::string GivenPipelineOnlyFlag(const PipelineTrainFlags& flags);

// Trains `updates` updates of `accum` micro-batches each (cfg.accum, for every schedule), and
// prints each update's loss. Exits the command with code 2 on bad flags, 1 on a failed run.
void RunPipelineTrain(const exec::TrainConfig& cfg, const PipelineTrainFlags& flags,
                      const exec::DataSplit& data);

}  // namespace paci::cli
