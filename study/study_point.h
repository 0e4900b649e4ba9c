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
  std::string setup;        // the run record's identity, study::SetupIdentity (run_record.h)
};

// The point a stored run trained; nullopt when the run lacks a column the study needs (a
// simulation, an unpipelined run, a run from before the columns existed).
std::optional<StudyPoint> PointOfRun(const store::RunRecord& run);

// Equal columns and setup. With `ignore_seed`, the seeds of one configuration compare equal.
// Runs stored before the device and precision columns existed were on the CPU in fp32.
bool SamePoint(const StudyPoint& a, const StudyPoint& b, bool ignore_seed = false);

// A string equal for two points exactly when SamePoint (seed included) says they are equal: what
// `paci runs merge` keys runs by to find two runs of one grid point and seed.
std::string PointKey(const StudyPoint& p);

// The schedule as a study compares it: its name, plus "+drift-lr-scale=A" or "+rewind=1" (any
// compensation, sched/staleness.h) with one.
std::string VariantName(const StudyPoint& p);

// "paci P=4 K=2 lr=0.001 b=4 tokens/update=512": a configuration's label, seed left out.
std::string ConfigurationLabel(const StudyPoint& p);

// The setup without the knobs of one schedule (PipeMare's lr warm-up, a staleness compensation): what a
// schedule and its flush baseline must share.
std::string SharedSetup(const std::string& setup);

}  // namespace paci::study
