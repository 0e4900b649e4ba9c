// Names of IR enums as people type and read them: schedule names for the CLI
// ("1f1b-flush"), op letters for the text form ("0F3"), policy names for reports.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "paci.pb.h"

namespace paci {

// CLI name of a schedule kind ("paci", "zb-h1", ...), and back.
std::string ScheduleName(ir::ScheduleKind kind);
std::optional<ir::ScheduleKind> ParseScheduleName(std::string_view name);
std::vector<std::string> AllScheduleNames();

// True for schedules with a synchronous step after each flush (GPipe, 1F1B, interleaved, ZB-H1).
bool IsFlushSchedule(ir::ScheduleKind kind);

// Short name of an op kind as used in the text form: F, B, I, W, SEND_F, RECV_F, SEND_B, RECV_B, OPT.
std::string OpKindCode(ir::OpKind kind);
std::optional<ir::OpKind> ParseOpKindCode(std::string_view code);

std::string WeightPolicyName(ir::WeightPolicy policy);

}  // namespace paci
