// Reading and writing schedules as files: binary protobuf, protobuf JSON, the text form
// (schedule_text.h) and PyTorch's CSV (schedule_csv.h). Errors name the file.
#pragma once

#include <string>
#include <string_view>

#include "paci.pb.h"
#include "proto/status.h"
#include "sched/schedule_csv.h"

namespace paci {

enum class ScheduleFileFormat { kAuto, kProto, kJson, kText, kCsv };

// "proto", "json", "text", "csv" (also "auto"); nullopt-like kAuto on anything else is an error.
Result<ScheduleFileFormat> ParseScheduleFileFormat(std::string_view name);

// From the extension: .pb/.binpb/.bin -> proto, .json, .txt/.text/.sched -> text, .csv; else kAuto.
ScheduleFileFormat FormatFromPath(std::string_view path);

// JSON with the proto field names (snake_case); the parser accepts both name styles.
Result<std::string> ScheduleToJson(const ir::Schedule& schedule);
Result<ir::Schedule> ScheduleFromJson(std::string_view json, std::string_view source = "<json>");

std::string ScheduleToBinary(const ir::Schedule& schedule);
Result<ir::Schedule> ScheduleFromBinary(std::string_view bytes, std::string_view source = "<binary>");

struct ScheduleReadOptions {
  ScheduleFileFormat format = ScheduleFileFormat::kAuto;  // kAuto: extension, then content
  CsvImportOptions csv;
};

struct ScheduleWriteOptions {
  ScheduleFileFormat format = ScheduleFileFormat::kAuto;  // kAuto: extension, else text
  CsvFormat csv = CsvFormat::kComputeOnly;
  bool compact_text = false;
};

Result<ir::Schedule> ReadScheduleFile(const std::string& path, const ScheduleReadOptions& options = {});
Status WriteScheduleFile(const std::string& path, const ir::Schedule& schedule,
                         const ScheduleWriteOptions& options = {});

// Schedule in `format` as a string (kAuto means text); what WriteScheduleFile writes.
Result<std::string> FormatSchedule(const ir::Schedule& schedule, const ScheduleWriteOptions& options);

// Parses `content` read from `source` (a path, for messages).
Result<ir::Schedule> ParseSchedule(std::string_view content, std::string_view source,
                                   const ScheduleReadOptions& options);

}  // namespace paci
