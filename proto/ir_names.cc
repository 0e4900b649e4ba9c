#include "proto/ir_names.h"

#include <array>
#include <utility>

namespace paci {
namespace {

constexpr std::array<std::pair<ir::ScheduleKind, std::string_view>, 8> kScheduleNames = {{
    {ir::GPIPE, "gpipe"},
    {ir::ONE_F_ONE_B_FLUSH, "1f1b-flush"},
    {ir::INTERLEAVED_1F1B, "interleaved-1f1b"},
    {ir::ZB_H1, "zb-h1"},
    {ir::PIPEDREAM, "pipedream"},
    {ir::PIPEDREAM_2BW, "pipedream-2bw"},
    {ir::PIPEMARE, "pipemare"},
    {ir::PACI, "paci"},
}};

// Letters follow PyTorch pipelining's action grammar (F, B, I, W, SEND_F, ...).
constexpr std::array<std::pair<ir::OpKind, std::string_view>, 9> kOpCodes = {{
    {ir::FORWARD, "F"},
    {ir::BACKWARD, "B"},
    {ir::BACKWARD_INPUT, "I"},
    {ir::BACKWARD_WEIGHT, "W"},
    {ir::SEND_ACTIVATION, "SEND_F"},
    {ir::RECV_ACTIVATION, "RECV_F"},
    {ir::SEND_GRAD, "SEND_B"},
    {ir::RECV_GRAD, "RECV_B"},
    {ir::OPTIMIZER_STEP, "OPT"},
}};

}  // namespace

std::string ScheduleName(ir::ScheduleKind kind) {
  for (const auto& [k, name] : kScheduleNames)
    if (k == kind) return std::string(name);
  return "unspecified";
}

std::optional<ir::ScheduleKind> ParseScheduleName(std::string_view name) {
  for (const auto& [k, n] : kScheduleNames)
    if (n == name) return k;
  return std::nullopt;
}

std::vector<std::string> AllScheduleNames() {
  std::vector<std::string> out;
  for (const auto& entry : kScheduleNames) out.emplace_back(entry.second);
  return out;
}

bool IsFlushSchedule(ir::ScheduleKind kind) {
  return kind == ir::GPIPE || kind == ir::ONE_F_ONE_B_FLUSH || kind == ir::INTERLEAVED_1F1B ||
         kind == ir::ZB_H1;
}

std::string OpKindCode(ir::OpKind kind) {
  for (const auto& [k, code] : kOpCodes)
    if (k == kind) return std::string(code);
  return "?";
}

std::optional<ir::OpKind> ParseOpKindCode(std::string_view code) {
  for (const auto& [k, c] : kOpCodes)
    if (c == code) return k;
  return std::nullopt;
}

std::string WeightPolicyName(ir::WeightPolicy policy) {
  switch (policy) {
    case ir::SYNC_AFTER_FLUSH: return "sync-after-flush";
    case ir::STASH: return "stash";
    case ir::DOUBLE_BUFFER: return "double-buffer";
    case ir::LIVE_BOUNDED_DRIFT: return "live-bounded-drift";
    default: return "unspecified";
  }
}

std::string PrecisionName(ir::Precision precision) {
  switch (precision) {
    case ir::PRECISION_FP32: return "fp32";
    case ir::PRECISION_BF16: return "bf16";
    default: return "unspecified";
  }
}

std::optional<ir::Precision> ParsePrecisionName(std::string_view name) {
  if (name == "fp32") return ir::PRECISION_FP32;
  if (name == "bf16") return ir::PRECISION_BF16;
  return std::nullopt;
}

uint32_t PrecisionElementBytes(ir::Precision precision) { return precision == ir::PRECISION_BF16 ? 2 : 4; }

}  // namespace paci
