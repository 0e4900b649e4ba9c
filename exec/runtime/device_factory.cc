#include "exec/runtime/device_factory.h"

#include <string>

#include "exec/runtime/optional_parts.h"

namespace paci::exec {

Result<BackendFactory> MakeStageBackend(std::string_view device, ir::Precision precision) {
  if (device == "cpu") return BackendFactory();  // empty: the pipeline trainer's CPU backend
  if (device == "cuda") return parts::MakeCudaBackend(precision);
  return Status::InvalidArgument("unknown device '" + std::string(device) + "' (cpu or cuda)");
}

Status BindRankDevice(std::string_view device, int local_rank) {
  if (device == "cpu") return Status::Ok();
  if (device == "cuda") return parts::BindCudaRank(local_rank);
  return Status::InvalidArgument("unknown device '" + std::string(device) + "' (cpu or cuda)");
}

}  // namespace paci::exec
