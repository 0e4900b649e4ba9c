// Chrome trace-event JSON export and import of a run. The export opens in Perfetto and
// chrome://tracing: one process per stage with compute, send and recv threads, one complete
// ("X") event per op, flow arrows from each send to its receive, counters for live memory and
// weight version. "metadata": {"paci": ...} holds the run description that import rebuilds.
#pragma once

#include <string>
#include <string_view>

#include "proto/status.h"
#include "store/run_info.h"

namespace paci::store {

std::string ExportChromeTrace(const RunData& run);

// Reads JSON written by ExportChromeTrace back into a run (ops, updates, memory samples, run
// description and status; the id is left 0). `source` names the input in error messages.
Result<RunData> ImportChromeTrace(std::string_view json, const std::string& source);

}  // namespace paci::store
