// How a study names a point of its grid: the store's configuration columns (schedule, P, K, lr,
// seed, micro-batch size, tokens per update, device, precision) plus the run's setup (model shape,
// length, lr shape, the --data corpus by content, ...). Resume and report both compare these, never
// run names, so a renamed run still counts and two setups never mix.
#pragma once

#include <optional>
#include <string>

#include "store/run_info.h"

namespace paci::study {

struct StudyPoint {
  store::RunConfig config;  // schedule, stages, accum, microbatch_size, tokens_per_update, lr, seed,
                            // device, precision
  std::string setup;        // the run setup's keys as compact JSON
};

// The run record as pipelined runs store it today: the setup is part of the description's JSON,
// under these keys (tools/pipeline_train.cc's RunSetup writes them). SetupOfRun is the one reader;
// it goes when the record is typed.
inline constexpr const char* kRunSetupKeys[] = {"model", "updates", "warmup", "decay_updates", "min_lr_frac",
                                                "pipemare_lr_warmup", "drift_lr_scale", "data", "weight_decay",
                                                "sampler", "eval_batches"};
// The setup keys of a stored run's description as compact JSON; nullopt when it is not a JSON object.
std::optional<std::string> SetupOfRun(const store::RunInfo& info);

// The point a stored run trained; nullopt when the run lacks a column the study needs (a
// simulation, an unpipelined run, a run from before the columns existed).
std::optional<StudyPoint> PointOfRun(const store::RunRecord& run);

// Equal columns and setup. With `ignore_seed`, the seeds of one configuration compare equal.
// Runs stored before the device and precision columns existed were on the CPU in fp32.
bool SamePoint(const StudyPoint& a, const StudyPoint& b, bool ignore_seed = false);

// The schedule as a study compares it: its name, plus "+drift-lr-scale=A" with the mitigation.
std::string VariantName(const StudyPoint& p);

// "paci P=4 K=2 lr=0.001 b=4 tokens/update=512": a configuration's label, seed left out.
std::string ConfigurationLabel(const StudyPoint& p);

// The setup without the knobs of one schedule (PipeMare's lr warm-up, the drift lr scale): what a
// schedule and its flush baseline must share.
std::string SharedSetup(const std::string& setup);

}  // namespace paci::study
