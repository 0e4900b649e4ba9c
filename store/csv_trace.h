// CSV export of a run's ops, one row per op, for spreadsheets and pandas.
// Columns: op_id,stage,chunk,micro_batch,kind,lane,start_ns,end_ns,weight_version,live_bytes;
// kind is the op code of the text form (F, B, I, W, SEND_F, RECV_F, SEND_B, RECV_B, OPT).
#pragma once

#include <string>

#include "store/run_info.h"

namespace paci::store {

std::string ExportCsv(const RunData& run);

}  // namespace paci::store
