#include "sched/schedule_text.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <optional>
#include <sstream>
#include <vector>

#include "proto/ir_names.h"
#include "sched/ir_version.h"
#include "sched/limits.h"
#include "sched/op_messages.h"
#include "sched/pipeline_spec.h"

namespace paci {
namespace {

constexpr ir::WeightPolicy kPolicies[] = {ir::SYNC_AFTER_FLUSH, ir::STASH, ir::DOUBLE_BUFFER,
                                          ir::LIVE_BOUNDED_DRIFT, ir::WEIGHT_POLICY_UNSPECIFIED};

std::optional<ir::WeightPolicy> ParsePolicy(std::string_view name) {
  for (ir::WeightPolicy p : kPolicies)
    if (WeightPolicyName(p) == name) return p;
  return std::nullopt;
}

void AppendOps(const google::protobuf::RepeatedPtrField<ir::Op>& ops, uint32_t stages,
               const TextOptions& options, std::string& out) {
  for (const ir::Op& op : ops) {
    if (!options.with_comms && IsMessageOp(op.kind())) continue;
    PlainOp plain{op.id(), op.stage(), op.chunk(), op.micro_batch(), op.kind()};
    out += ' ';
    out += OpText(plain, stages);
  }
}

std::string SpecLine(const ir::Schedule& schedule) {
  const ir::PipelineSpec& s = schedule.spec();
  std::string window;
  for (int i = 0; i < s.window_size(); ++i) {
    if (i > 0) window += ',';
    window += std::to_string(s.window(i));
  }
  return fmt::format(
      "spec ir_version={} kind={} stages={} chunks={} microbatches={} accum={} total={} window={}",
      schedule.ir_version(), ScheduleName(s.kind()), s.stages(), s.chunks(), s.microbatches_per_iteration(),
      s.accum(), s.total_microbatches(), window);
}

// ---- parsing -------------------------------------------------------------------------------

struct Parser {
  std::string_view source;
  int line = 0;
  Status Error(const std::string& what) const {
    return Status::InvalidArgument(fmt::format("{}:{}: {}", source, line, what));
  }
};

template <typename T>
bool ParseUint(std::string_view text, T& out) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

std::vector<std::string_view> Split(std::string_view text) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r')) ++i;
    size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != '\t' && text[j] != '\r') ++j;
    if (j > i) out.push_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

Status ParseSpecField(const Parser& p, std::string_view key, std::string_view value, ir::Schedule& schedule) {
  ir::PipelineSpec& s = *schedule.mutable_spec();
  uint64_t n = 0;
  if (key == "kind") {
    if (value == "unspecified") return Status::Ok();
    auto kind = ParseScheduleName(value);
    if (!kind) return p.Error(fmt::format("unknown schedule kind '{}'", value));
    s.set_kind(*kind);
    return Status::Ok();
  }
  if (key == "window") {
    s.clear_window();
    size_t start = 0;
    while (start < value.size()) {
      size_t comma = std::min(value.find(',', start), value.size());
      uint32_t w = 0;
      if (!ParseUint(value.substr(start, comma - start), w))
        return p.Error(fmt::format("bad window '{}'", value));
      s.add_window(w);
      start = comma + 1;
    }
    return Status::Ok();
  }
  if (!ParseUint(value, n)) return p.Error(fmt::format("spec field {}: '{}' is not a number", key, value));
  // Every field but `total` is 32-bit: a larger number must not wrap into a small valid one.
  if (key != "total" && n > UINT32_MAX)
    return p.Error(fmt::format("spec field {}: {} does not fit in 32 bits", key, value));
  if (key == "ir_version")
    schedule.set_ir_version(static_cast<uint32_t>(n));
  else if (key == "stages")
    s.set_stages(static_cast<uint32_t>(n));
  else if (key == "chunks")
    s.set_chunks(static_cast<uint32_t>(n));
  else if (key == "microbatches")
    s.set_microbatches_per_iteration(static_cast<uint32_t>(n));
  else if (key == "accum")
    s.set_accum(static_cast<uint32_t>(n));
  else if (key == "total")
    s.set_total_microbatches(n);
  else
    return p.Error(fmt::format("unknown spec field '{}'", key));
  return Status::Ok();
}

Status ParseSpecLine(const Parser& p, std::string_view rest, ir::Schedule& schedule) {
  for (std::string_view field : Split(rest)) {
    size_t eq = field.find('=');
    if (eq == std::string_view::npos) return p.Error(fmt::format("spec field '{}' has no '='", field));
    PACI_RETURN_IF_ERROR(ParseSpecField(p, field.substr(0, eq), field.substr(eq + 1), schedule));
  }
  return Status::Ok();
}

// One op token such as "5SEND_F3" on the line of `stage`.
Result<ir::Op> ParseOpToken(const Parser& p, std::string_view tok, uint32_t stage, uint32_t stages) {
  size_t i = 0;
  while (i < tok.size() && std::isdigit(static_cast<unsigned char>(tok[i]))) ++i;
  size_t j = i;
  while (j < tok.size() && (std::isupper(static_cast<unsigned char>(tok[j])) || tok[j] == '_')) ++j;
  uint32_t v = 0;
  uint64_t mb = 0;
  auto kind = ParseOpKindCode(tok.substr(i, j - i));
  if (!ParseUint(tok.substr(0, i), v) || !kind || !ParseUint(tok.substr(j), mb))
    return p.Error(fmt::format("'{}' is not an op (expected e.g. 0F3, 1SEND_B2, 0OPT8)", tok));
  ir::Op op;
  op.set_stage(stage);
  op.set_micro_batch(mb);
  op.set_kind(*kind);
  if (*kind == ir::OPTIMIZER_STEP) {
    if (v != stage) return p.Error(fmt::format("'{}': an OPT op names its own stage {}", tok, stage));
    return op;
  }
  if (v % stages != stage)
    return p.Error(fmt::format("'{}' runs on virtual stage {}, which is not on stage {} (P = {})", tok, v,
                               stage, stages));
  op.set_chunk(v / stages);
  return op;
}

// "( ... )xR+S": opens and closes the repeated body of a compact stream.
Status ParseBodyClose(const Parser& p, std::string_view tok, ir::StageStream& stream) {
  size_t plus = tok.find('+');
  uint64_t repeats = 0, stride = 0;
  if (tok.size() < 3 || tok.substr(0, 2) != ")x" || plus == std::string_view::npos ||
      !ParseUint(tok.substr(2, plus - 2), repeats) || !ParseUint(tok.substr(plus + 1), stride))
    return p.Error(fmt::format("'{}': a body ends with )x<repeats>+<stride>", tok));
  stream.set_body_repeats(repeats);
  stream.set_body_stride(stride);
  return Status::Ok();
}

Status ParseOps(const Parser& p, std::string_view text, uint32_t stages, ir::StageStream& stream) {
  int section = 0;  // 0 prefix, 1 body, 2 suffix
  for (std::string_view tok : Split(text)) {
    if (tok == "(") {
      if (section != 0) return p.Error("a stream has at most one '(' body");
      section = 1;
      continue;
    }
    if (tok.front() == ')') {
      if (section != 1) return p.Error(fmt::format("'{}' without an open '('", tok));
      PACI_RETURN_IF_ERROR(ParseBodyClose(p, tok, stream));
      section = 2;
      continue;
    }
    Result<ir::Op> op = ParseOpToken(p, tok, stream.stage(), stages);
    if (!op.ok()) return op.status();
    auto* target = section == 0   ? stream.mutable_prefix()
                   : section == 1 ? stream.mutable_body()
                                  : stream.mutable_suffix();
    *target->Add() = *op;
  }
  if (section == 1) return p.Error("body '(' not closed");
  return Status::Ok();
}

struct StageLine {
  int line;
  uint32_t stage;
  ir::WeightPolicy policy;
  std::string ops;  // owned: the line buffer it comes from is reused
};

Result<StageLine> ParseStageHeader(const Parser& p, std::string_view text) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) return p.Error("a stage line reads 'stage <s> <policy>: <ops>'");
  std::vector<std::string_view> head = Split(text.substr(0, colon));
  StageLine out{p.line, 0, ir::WEIGHT_POLICY_UNSPECIFIED, std::string(text.substr(colon + 1))};
  if (head.size() < 2 || head.size() > 3 || head[0] != "stage" || !ParseUint(head[1], out.stage))
    return p.Error("a stage line reads 'stage <s> <policy>: <ops>'");
  if (head.size() == 3) {
    auto policy = ParsePolicy(head[2]);
    if (!policy) return p.Error(fmt::format("unknown weight policy '{}'", head[2]));
    out.policy = *policy;
  }
  return out;
}

// Fills spec fields the text did not give from the ops themselves.
void InferSpec(ir::Schedule& schedule) {
  ir::PipelineSpec& spec = *schedule.mutable_spec();
  if (schedule.ir_version() == 0) schedule.set_ir_version(kIrVersion);
  if (spec.stages() == 0) spec.set_stages(schedule.streams_size());
  // From the stream's sections, not by expanding them: a repeated body may stand for more ops
  // than memory holds (the validator refuses such a run against sched/limits.h afterwards).
  uint64_t last = 0;
  auto see = [&](const ir::Op& op, uint64_t offset) {
    const uint64_t mb = op.micro_batch() > UINT64_MAX - offset ? UINT64_MAX : op.micro_batch() + offset;
    last = std::max(last, mb);
  };
  for (const ir::StageStream& stream : schedule.streams()) {
    for (const ir::Op& op : stream.prefix()) see(op, 0);
    for (const ir::Op& op : stream.suffix()) see(op, 0);
    if (stream.body_repeats() == 0) continue;
    // The last repeat shifts each body op by (repeats - 1) * stride micro-batches.
    const uint64_t n = stream.body_repeats() - 1, stride = stream.body_stride();
    const uint64_t offset = stride != 0 && n > UINT64_MAX / stride ? UINT64_MAX : n * stride;
    for (const ir::Op& op : stream.body()) see(op, offset);
  }
  NormalizeChunks(&schedule);
  if (spec.total_microbatches() == 0) spec.set_total_microbatches(last);
}

void AssignIds(ir::Schedule& schedule) {
  uint64_t id = 0;
  for (auto& stream : *schedule.mutable_streams())
    for (auto* section : {stream.mutable_prefix(), stream.mutable_body(), stream.mutable_suffix()})
      for (ir::Op& op : *section) op.set_id(id++);
}

}  // namespace

std::string OpText(const PlainOp& op, uint32_t stages) {
  const uint32_t v = op.kind == ir::OPTIMIZER_STEP ? op.stage : VirtualStageOf(op, stages);
  return fmt::format("{}{}{}", v, OpKindCode(op.kind), op.micro_batch);
}

std::string FormatScheduleText(const ir::Schedule& schedule, const TextOptions& options) {
  const uint32_t P = std::max<uint32_t>(1, schedule.spec().stages());
  std::string out = fmt::format(
      "# paci schedule {}: one line per stage; op = <virtual stage><kind><micro-batch, 1-based>\n",
      ScheduleName(schedule.spec().kind()));
  out += SpecLine(schedule) + "\n";
  const ir::Schedule explicit_form = options.compact ? ir::Schedule() : ToExplicit(schedule);
  const ir::Schedule& shown = options.compact ? schedule : explicit_form;
  for (const ir::StageStream& stream : shown.streams()) {
    out += fmt::format("stage {} {}:", stream.stage(), WeightPolicyName(stream.weight_policy()));
    AppendOps(stream.prefix(), P, options, out);
    if (stream.body_size() > 0 && stream.body_repeats() > 0) {
      out += " (";
      AppendOps(stream.body(), P, options, out);
      out += fmt::format(" )x{}+{}", stream.body_repeats(), stream.body_stride());
    }
    AppendOps(stream.suffix(), P, options, out);
    out += '\n';
  }
  return out;
}

Result<ir::Schedule> ParseScheduleText(std::string_view text, std::string_view source) {
  ir::Schedule schedule;
  Parser p{source, 0};
  std::vector<StageLine> lines;
  std::istringstream in{std::string(text)};
  for (std::string raw; std::getline(in, raw);) {
    ++p.line;
    std::string_view t = raw;
    t = t.substr(0, std::min(t.find('#'), t.size()));
    std::vector<std::string_view> words = Split(t);
    if (words.empty()) continue;
    const size_t start = t.find(words[0]);
    if (words[0] == "spec") {
      PACI_RETURN_IF_ERROR(ParseSpecLine(p, t.substr(start + 4), schedule));
    } else {
      Result<StageLine> line = ParseStageHeader(p, t.substr(start));
      if (!line.ok()) return line.status();
      lines.push_back(*line);
    }
  }
  if (lines.empty()) return Status::InvalidArgument(fmt::format("{}: no stage lines", source));
  const uint32_t P =
      schedule.spec().stages() ? schedule.spec().stages() : static_cast<uint32_t>(lines.size());
  if (lines.size() != P)
    return Status::InvalidArgument(fmt::format("{}: {} stage lines for {} stages", source, lines.size(), P));
  std::sort(lines.begin(), lines.end(), [](auto& a, auto& b) { return a.stage < b.stage; });
  bool compact = false;
  for (uint32_t s = 0; s < P; ++s) {
    p.line = lines[s].line;
    if (lines[s].stage != s) return p.Error(fmt::format("expected a line for stage {}", s));
    ir::StageStream& stream = *schedule.add_streams();
    stream.set_stage(s);
    stream.set_weight_policy(lines[s].policy);
    PACI_RETURN_IF_ERROR(ParseOps(p, lines[s].ops, P, stream));
    compact = compact || stream.body_size() > 0;
  }
  InferSpec(schedule);
  if (!compact) AssignIds(schedule);
  return schedule;
}

}  // namespace paci
