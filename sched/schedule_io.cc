#include "sched/schedule_io.h"

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "sched/pipeline_spec.h"
#include "sched/schedule_text.h"

namespace paci {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Guesses the format of a file without a telling extension.
ScheduleFileFormat Sniff(std::string_view content) {
  size_t i = content.find_first_not_of(" \t\r\n");
  if (i == std::string_view::npos) return ScheduleFileFormat::kText;
  if (content[i] == '{') return ScheduleFileFormat::kJson;
  if (content.find("stage ") != std::string_view::npos || content[i] == '#') return ScheduleFileFormat::kText;
  const bool printable = std::all_of(content.begin(), content.end(), [](char c) {
    return c == '\n' || c == '\r' || c == '\t' || (c >= 32 && c < 127);
  });
  return printable ? ScheduleFileFormat::kCsv : ScheduleFileFormat::kProto;
}

}  // namespace

Result<ScheduleFileFormat> ParseScheduleFileFormat(std::string_view name) {
  if (name == "auto") return ScheduleFileFormat::kAuto;
  if (name == "proto") return ScheduleFileFormat::kProto;
  if (name == "json") return ScheduleFileFormat::kJson;
  if (name == "text") return ScheduleFileFormat::kText;
  if (name == "csv") return ScheduleFileFormat::kCsv;
  return Status::InvalidArgument(
      fmt::format("unknown schedule file format '{}' (proto, json, text, csv)", name));
}

ScheduleFileFormat FormatFromPath(std::string_view path) {
  for (std::string_view ext : {".pb", ".binpb", ".bin"})
    if (EndsWith(path, ext)) return ScheduleFileFormat::kProto;
  if (EndsWith(path, ".json")) return ScheduleFileFormat::kJson;
  for (std::string_view ext : {".txt", ".text", ".sched"})
    if (EndsWith(path, ext)) return ScheduleFileFormat::kText;
  if (EndsWith(path, ".csv")) return ScheduleFileFormat::kCsv;
  return ScheduleFileFormat::kAuto;
}

Result<std::string> ScheduleToJson(const ir::Schedule& schedule) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  std::string out;
  auto status = google::protobuf::util::MessageToJsonString(schedule, &out, options);
  if (!status.ok()) return Status::Internal("schedule to JSON: " + std::string(status.message()));
  return out;
}

namespace {

// Protobuf keeps enum numbers it does not know (open enums) in JSON and binary input; the text
// form cannot spell them. Refuse them here, naming the field, so all four forms agree.
Status CheckKnownEnums(const google::protobuf::Message& m, std::string_view source, const std::string& path) {
  const google::protobuf::Reflection* r = m.GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const google::protobuf::FieldDescriptor* f : fields) {
    const std::string name = path.empty() ? f->name() : path + "." + f->name();
    const int n = f->is_repeated() ? r->FieldSize(m, f) : 1;
    for (int i = 0; i < n; ++i) {
      const std::string where = f->is_repeated() ? fmt::format("{}[{}]", name, i) : name;
      if (f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_ENUM) {
        const int v = f->is_repeated() ? r->GetRepeatedEnumValue(m, f, i) : r->GetEnumValue(m, f);
        if (f->enum_type()->FindValueByNumber(v) == nullptr)
          return Status::InvalidArgument(
              fmt::format("{}: {}: unknown {} value {}", source, where, f->enum_type()->name(), v));
      } else if (f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
        const google::protobuf::Message& sub =
            f->is_repeated() ? r->GetRepeatedMessage(m, f, i) : r->GetMessage(m, f);
        PACI_RETURN_IF_ERROR(CheckKnownEnums(sub, source, where));
      }
    }
  }
  return Status::Ok();
}

}  // namespace

Result<ir::Schedule> ScheduleFromJson(std::string_view json, std::string_view source) {
  ir::Schedule schedule;
  auto status = google::protobuf::util::JsonStringToMessage(std::string(json), &schedule);
  if (!status.ok())
    return Status::InvalidArgument(
        fmt::format("{}: not a JSON schedule: {}", source, std::string(status.message())));
  PACI_RETURN_IF_ERROR(CheckKnownEnums(schedule, source, ""));
  NormalizeChunks(&schedule);
  return schedule;
}

std::string ScheduleToBinary(const ir::Schedule& schedule) { return schedule.SerializeAsString(); }

Result<ir::Schedule> ScheduleFromBinary(std::string_view bytes, std::string_view source) {
  ir::Schedule schedule;
  if (bytes.size() > static_cast<size_t>(INT_MAX) ||
      !schedule.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return Status::InvalidArgument(fmt::format("{}: not a binary protobuf schedule", source));
  PACI_RETURN_IF_ERROR(CheckKnownEnums(schedule, source, ""));
  NormalizeChunks(&schedule);
  return schedule;
}

Result<std::string> FormatSchedule(const ir::Schedule& schedule, const ScheduleWriteOptions& options) {
  switch (options.format) {
    case ScheduleFileFormat::kProto: return ScheduleToBinary(schedule);
    case ScheduleFileFormat::kJson: return ScheduleToJson(schedule);
    case ScheduleFileFormat::kCsv: return FormatScheduleCsv(schedule, options.csv);
    default: return FormatScheduleText(schedule, TextOptions{options.compact_text, true});
  }
}

Result<ir::Schedule> ParseSchedule(std::string_view content, std::string_view source,
                                   const ScheduleReadOptions& options) {
  ScheduleFileFormat format = options.format;
  if (format == ScheduleFileFormat::kAuto) format = FormatFromPath(source);
  if (format == ScheduleFileFormat::kAuto) format = Sniff(content);
  switch (format) {
    case ScheduleFileFormat::kProto: return ScheduleFromBinary(content, source);
    case ScheduleFileFormat::kJson: return ScheduleFromJson(content, source);
    case ScheduleFileFormat::kCsv: return ParseScheduleCsv(content, options.csv, source);
    default: return ParseScheduleText(content, source);
  }
}

Result<ir::Schedule> ReadScheduleFile(const std::string& path, const ScheduleReadOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return Status::IoError(fmt::format("{}: read failed", path));
  return ParseSchedule(content.str(), path, options);
}

Status WriteScheduleFile(const std::string& path, const ir::Schedule& schedule,
                         const ScheduleWriteOptions& options) {
  ScheduleWriteOptions o = options;
  if (o.format == ScheduleFileFormat::kAuto) o.format = FormatFromPath(path);
  Result<std::string> content = FormatSchedule(schedule, o);
  if (!content.ok()) return Status(content.status());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::IoError(fmt::format("{}: cannot create: {}", path, std::strerror(errno)));
  out << *content;
  out.close();
  if (!out) return Status::IoError(fmt::format("{}: write failed", path));
  return Status::Ok();
}

}  // namespace paci
