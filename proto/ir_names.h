// Names of IR enums as people type and read them: schedule names for the CLI
// ("1f1b-flush"), op letters for the text form ("0F3"), policy names for reports, precisions
// ("fp32", "bf16") for --precision, profiles and the run record.
#pragma once

#include <cstdint>
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

// "fp32" or "bf16" (--precision, Profile.precision, the runs table's precision column), and back;
// "unspecified" for PRECISION_UNSPECIFIED, which no name parses to.
std::string PrecisionName(ir::Precision precision);
std::optional<ir::Precision> ParsePrecisionName(std::string_view name);
// Bytes of one activation or GEMM operand element: 4 in fp32, 2 in bf16 (fp32 when unspecified).
uint32_t PrecisionElementBytes(ir::Precision precision);

}  // namespace paci
