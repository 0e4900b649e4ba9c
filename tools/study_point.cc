#include "tools/study_point.h"

#include <optional>

#include "proto/ir_names.h"
#include "sched/checked_math.h"
#include "study/run_record.h"
#include "tools/pipeline_train.h"

namespace paci::cli {

Result<study::StudyPoint> PointOfTrainArgs(const std::vector<std::string>& args) {
  Result<TrainArgs> t = ReadTrainArgs(args);
  if (!t.ok()) return t.status();
  // What train would refuse, refused here: the point's identity below multiplies its numbers.
  PACI_RETURN_IF_ERROR(CheckTrainArgs(*t));
  // The record train will store (study/run_record.h), and from it the columns as
  // pipeline_train.cc's MakeRunInfo and the store's FillConfigFromRun fill them.
  Result<ir::RunSetup> setup = study::BuildRunSetup(t->cfg, RunChoicesOf(t->cfg, t->pipe));
  if (!setup.ok()) return setup.status();
  study::StudyPoint p;
  p.config.schedule = t->pipe.schedule;
  p.config.stages = t->pipe.stages;
  p.config.accum = setup->accum();
  p.config.microbatch_size = setup->microbatch_size();
  p.config.tokens_per_update = static_cast<int64_t>(setup->tokens_per_update());
  p.config.lr = setup->lr();
  p.config.seed = static_cast<int64_t>(setup->seed());
  p.config.device = setup->device();
  p.config.precision = PrecisionName(setup->precision());
  p.setup = study::SetupIdentity(*setup);
  return p;
}

}  // namespace paci::cli
