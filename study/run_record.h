// The run record's one builder: what `paci train --schedule` stores about a run (ir::RunSetup in
// proto/paci.proto) from the trainer's configuration and the pipeline's choices, the precision a
// run trains in, and the part of the record that identifies a study point. Writers and the study
// call these; the store keeps the record (store/run_record_json.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "exec/model/train.h"
#include "exec/runtime/layer_partition.h"
#include "paci.pb.h"
#include "proto/status.h"

namespace paci::study {

// What a pipelined run chose beyond exec::TrainConfig (tools/pipeline_train.h's flags).
struct RunChoices {
  std::string schedule;  // CLI name; a schedule's own knobs are recorded for it only
  std::string transport = "threads";
  std::string device = "cpu";
  std::string precision;                    // --precision as given: "", "fp32" or "bf16"
  std::vector<exec::LayerRange> partition;  // one per slice; empty before the split is known
  std::string resumed_from;
  std::vector<std::string> data_files;  // empty: the default corpus
  uint64_t data_tokens = 0, data_fingerprint = 0;
  int64_t pipemare_lr_warmup = 0;
  double drift_lr_scale = 0;  // 0: off
  std::string staleness;      // any other compensation, "rewind=1" (sched/staleness.h); empty: none
  uint32_t chunks = 0;        // --chunks as given; 0: the schedule's default
  // --grad-clip; pipelined training clips nothing unless it is given (tools/cmd_train.cc), so off
  // is the default here, not exec::TrainConfig's 1.
  float grad_clip = 0;
};

// fp32 on the CPU; on CUDA the --precision given, bf16 when none was.
ir::Precision RunPrecision(std::string_view device, std::string_view precision_flag);

// The record of a run of `cfg` with `choices`. Fails (naming the flags) only when tokens per update
// overflow int64. The knobs that change the losses or how they are measured (weight decay,
// sampler, validation batches) are set only where they differ from exec::TrainConfig's defaults.
Result<ir::RunSetup> BuildRunSetup(const exec::TrainConfig& cfg, const RunChoices& choices);

// What tells two study points with equal configuration columns apart: the model's shape, the run
// length, the lr shape, the corpus by content, the schedule's own knobs and the non-default
// knobs, as compact JSON with sorted keys. Transport, partition and resumption are not part of it.
std::string SetupIdentity(const ir::RunSetup& setup);

}  // namespace paci::study
