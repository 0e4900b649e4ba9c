#include "tools/study_point.h"

#include <optional>

#include "sched/checked_math.h"

#include "tools/pipeline_train.h"

namespace paci::cli {

Result<study::StudyPoint> PointOfTrainArgs(const std::vector<std::string>& args) {
  Result<TrainArgs> t = ReadTrainArgs(args);
  if (!t.ok()) return t.status();
  // What train would refuse, refused here: the point's identity below multiplies its numbers.
  PACI_RETURN_IF_ERROR(CheckTrainArgs(*t));
  study::StudyPoint p;
  // The columns as pipeline_train.cc's MakeRunInfo and the store's FillConfigFromRun fill them.
  p.config.schedule = t->pipe.schedule;
  p.config.stages = t->pipe.stages;
  p.config.accum = t->cfg.accum;
  p.config.microbatch_size = t->cfg.B;
  // B x T x K of checked numbers: train_config_check bounds B and T by the model's work estimate and
  // K by int, so the product fits int64 (CheckedMul says so rather than assumes it).
  const std::optional<int64_t> bt = CheckedMul<int64_t>(t->cfg.B, t->cfg.model.block_size);
  const std::optional<int64_t> tokens = bt ? CheckedMul<int64_t>(*bt, t->cfg.accum) : std::nullopt;
  if (!tokens) return Status::InvalidArgument("--microbatch-size x --seq x --accum: tokens per update overflow");
  p.config.tokens_per_update = *tokens;
  p.config.lr = t->cfg.lr;
  p.config.seed = static_cast<int64_t>(t->cfg.seed);
  p.config.device = t->pipe.device;
  p.config.precision = RunPrecision(t->pipe);
  p.setup = RunSetup(t->cfg, t->pipe).dump();
  return p;
}

}  // namespace paci::cli
