#include "store/csv_trace.h"

#include <fmt/format.h>

#include "proto/ir_names.h"

namespace paci::store {
namespace {

const char* LaneName(ir::Lane lane) {
  switch (lane) {
    case ir::LANE_SEND: return "send";
    case ir::LANE_RECV: return "recv";
    default: return "compute";
  }
}

}  // namespace

std::string ExportCsv(const RunData& run) {
  std::string out = "op_id,stage,chunk,micro_batch,kind,lane,start_ns,end_ns,weight_version,live_bytes\n";
  for (const ir::TraceEvent& e : run.ops) {
    out += fmt::format("{},{},{},{},{},{},{},{},{},{}\n", e.op_id(), e.stage(), e.chunk(),
                       e.micro_batch(), OpKindCode(e.kind()), LaneName(e.lane()), e.start_ns(),
                       e.end_ns(), e.weight_version(), e.live_bytes());
  }
  return out;
}

}  // namespace paci::store
