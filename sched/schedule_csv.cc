#include "sched/schedule_csv.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <set>
#include <vector>

#include "proto/ir_names.h"
#include "sched/comm_lowering.h"
#include "sched/expanded_schedule.h"
#include "sched/ir_version.h"
#include "sched/op_messages.h"
#include "sched/pipeline_spec.h"
#include "sched/schedule_generator.h"

namespace paci {
namespace {

// One action read from a cell, before the spec (and so the chunk) is known.
struct Action {
  uint32_t virtual_stage = 0;
  ir::OpKind kind = ir::OP_KIND_UNSPECIFIED;
  uint64_t micro_batch = 0;  // ours, 1-based
  bool legacy_bw = false;    // spelled "BW": PyTorch's older name for the full backward
};

struct Cell {
  std::string_view source;
  size_t row = 0, column = 0;
  Status Error(const std::string& why) const {
    return Status::InvalidArgument(fmt::format("{}:{}:{}: {}", source, row + 1, column + 1, why));
  }
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (std::isspace(static_cast<unsigned char>(s.front())) || s.front() == '"')) s.remove_prefix(1);
  while (!s.empty() && (std::isspace(static_cast<unsigned char>(s.back())) || s.back() == '"')) s.remove_suffix(1);
  return s;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

// Appends the actions of one cell ("2F0", "(0F3;1B2)OVERLAP_F_B", "1UNSHARD", "").
Status ParseCell(const Cell& cell, std::string_view text, std::vector<Action>& out) {
  text = Trim(text);
  if (text.empty()) return Status::Ok();
  if (text.front() == '(') {
    const size_t close = text.find(')');
    if (close == std::string_view::npos || text.substr(close + 1) != "OVERLAP_F_B")
      return cell.Error(fmt::format("'{}': expected (a;b)OVERLAP_F_B", text));
    std::string_view inner = text.substr(1, close - 1);
    for (size_t start = 0; start <= inner.size();) {
      const size_t semi = std::min(inner.find(';', start), inner.size());
      PACI_RETURN_IF_ERROR(ParseCell(cell, inner.substr(start, semi - start), out));
      start = semi + 1;
    }
    return Status::Ok();
  }
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  size_t j = i;
  while (j < text.size() && (std::isupper(static_cast<unsigned char>(text[j])) || text[j] == '_')) ++j;
  const std::string_view code = text.substr(i, j - i);
  if (code == "UNSHARD" || code == "RESHARD" || code == "REDUCE_GRAD") return Status::Ok();
  const bool legacy_bw = code == "BW";
  auto kind = legacy_bw ? std::optional<ir::OpKind>(ir::BACKWARD) : ParseOpKindCode(code);
  Action a;
  a.legacy_bw = legacy_bw;
  uint64_t mb0 = 0;
  const std::string_view digits = text.substr(j);
  if (i == 0 || !kind || *kind == ir::OPTIMIZER_STEP || !AllDigits(digits) ||
      std::from_chars(text.data(), text.data() + i, a.virtual_stage).ec != std::errc() ||
      std::from_chars(digits.data(), digits.data() + digits.size(), mb0).ec != std::errc())
    return cell.Error(fmt::format("'{}' is not an action like 2F0, 1I3, 0SEND_F1", text));
  a.kind = *kind;
  a.micro_batch = mb0 + 1;
  out.push_back(a);
  return Status::Ok();
}

std::vector<std::string_view> SplitRows(std::string_view text) {
  std::vector<std::string_view> rows;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = std::min(text.find('\n', start), text.size());
    std::string_view row = text.substr(start, end - start);
    if (!row.empty() && row.back() == '\r') row.remove_suffix(1);
    rows.push_back(row);
    start = end + 1;
  }
  return rows;
}

Status ParseRow(std::string_view source, size_t r, std::string_view row, std::vector<Action>& out) {
  size_t column = 0;
  for (size_t start = 0; start <= row.size(); ++column) {
    const size_t comma = std::min(row.find(',', start), row.size());
    const std::string_view text = row.substr(start, comma - start);
    // Some dumps put the rank number first; PyTorch's own parser would reject a bare number.
    if (!(column == 0 && AllDigits(Trim(text))))
      PACI_RETURN_IF_ERROR(ParseCell(Cell{source, r, column}, text, out));
    start = comma + 1;
  }
  return Status::Ok();
}

// PyTorch renamed its backward actions in 2024: before, B was the input gradient (beside W) and
// BW the full backward; now I is the input gradient and B the full backward. A file uses the old
// names when it spells BW, or when one micro-batch has both B and W on a virtual stage (under the
// new names that would compute the weight gradient twice). Old names are rewritten to ours; a
// file that mixes I with old names cannot be read either way and is refused.
Status ReadLegacyBackwardNames(std::string_view source, std::vector<std::vector<Action>>& actions) {
  std::set<std::pair<uint32_t, uint64_t>> with_b, with_w;
  bool has_bw = false, has_i = false;
  for (const auto& row : actions)
    for (const Action& a : row) {
      has_bw |= a.legacy_bw;
      has_i |= a.kind == ir::BACKWARD_INPUT;
      if (a.kind == ir::BACKWARD && !a.legacy_bw) with_b.insert({a.virtual_stage, a.micro_batch});
      if (a.kind == ir::BACKWARD_WEIGHT) with_w.insert({a.virtual_stage, a.micro_batch});
    }
  bool b_beside_w = false;
  for (const auto& key : with_b) b_beside_w |= with_w.count(key) > 0;
  if (!has_bw && !b_beside_w) return Status::Ok();
  if (has_i)
    return Status::InvalidArgument(fmt::format(
        "{}: mixes PyTorch's old backward names (B = input gradient beside W, BW = full backward) with "
        "the new ones (I = input gradient, B = full backward); convert to the new names: B that has a W "
        "for the same micro-batch -> I, BW -> B", source));
  for (auto& row : actions)
    for (Action& a : row)
      if (a.kind == ir::BACKWARD) a.kind = a.legacy_bw ? ir::BACKWARD : ir::BACKWARD_INPUT;
  return Status::Ok();
}

bool HasCommActions(const std::vector<std::vector<Action>>& actions) {
  for (const auto& row : actions)
    for (const Action& a : row)
      if (IsSend(a.kind) || IsRecv(a.kind)) return true;
  return false;
}

// PyTorch's runtime posts a RECV where the file lists it and waits for it only at the compute op
// that needs the message (`_wait_batch_p2p` before the forward or backward). The IR's RECV waits
// where it stands, so each RECV moves to just before its consumer on the same rank: F for an
// activation, I or B for a gradient, same virtual stage and micro-batch. A RECV without a
// consumer stays where it is.
void DeferReceivesToTheirConsumers(std::vector<Action>& row) {
  auto consumes = [](const Action& recv, const Action& op) {
    if (op.virtual_stage != recv.virtual_stage || op.micro_batch != recv.micro_batch) return false;
    if (recv.kind == ir::RECV_ACTIVATION) return op.kind == ir::FORWARD;
    return op.kind == ir::BACKWARD_INPUT || op.kind == ir::BACKWARD;
  };
  std::vector<std::vector<Action>> before(row.size());
  std::vector<bool> moved(row.size(), false);
  for (size_t i = 0; i < row.size(); ++i) {
    if (!IsRecv(row[i].kind)) continue;
    for (size_t j = i + 1; j < row.size(); ++j)
      if (consumes(row[i], row[j])) {
        before[j].push_back(row[i]);
        moved[i] = true;
        break;
      }
  }
  std::vector<Action> out;
  out.reserve(row.size());
  for (size_t i = 0; i < row.size(); ++i) {
    out.insert(out.end(), before[i].begin(), before[i].end());
    if (!moved[i]) out.push_back(row[i]);
  }
  row = std::move(out);
}

bool CompletesBackward(ir::OpKind k) { return k == ir::BACKWARD || k == ir::BACKWARD_WEIGHT; }

// The spec of an imported schedule: what the CSV shows plus the options.
Result<ir::PipelineSpec> ImportedSpec(uint32_t P, uint32_t V, uint64_t N, const CsvImportOptions& o) {
  ir::PipelineSpec spec;
  spec.set_kind(o.kind);
  spec.set_stages(P);
  spec.set_chunks(V);
  spec.set_total_microbatches(N);
  if (IsFlushSchedule(o.kind) || o.kind == ir::SCHEDULE_KIND_UNSPECIFIED) {
    spec.set_microbatches_per_iteration(static_cast<uint32_t>(N));
  } else {
    spec.set_accum(o.accum);
  }
  if (o.kind == ir::SCHEDULE_KIND_UNSPECIFIED) return spec;
  return NormalizeSpec(spec);
}

}  // namespace

std::string FormatScheduleCsv(const ir::Schedule& schedule, CsvFormat format) {
  const uint32_t P = schedule.spec().stages();
  std::string out;
  for (const auto& ops : ExpandSchedule(schedule)) {
    bool first = true;
    for (const PlainOp& op : ops) {
      const bool comm = IsSend(op.kind) || IsRecv(op.kind);
      if (op.kind == ir::OPTIMIZER_STEP || (comm && format == CsvFormat::kComputeOnly)) continue;
      out += fmt::format("{}{}{}{}", first ? "" : ",", VirtualStageOf(op, P), OpKindCode(op.kind),
                         op.micro_batch - 1);
      first = false;
    }
    out += "\r\n";
  }
  return out;
}

Result<ir::Schedule> ParseScheduleCsv(std::string_view text, const CsvImportOptions& options,
                                      std::string_view source) {
  const std::vector<std::string_view> rows = SplitRows(text);
  if (rows.empty()) return Status::InvalidArgument(fmt::format("{}: no rows", source));
  const uint32_t P = static_cast<uint32_t>(rows.size());
  std::vector<std::vector<Action>> actions(P);
  uint32_t V = 1;
  uint64_t N = 0;
  for (uint32_t r = 0; r < P; ++r) {
    PACI_RETURN_IF_ERROR(ParseRow(source, r, rows[r], actions[r]));
    for (const Action& a : actions[r]) {
      if (a.virtual_stage % P != r)
        return Status::InvalidArgument(fmt::format(
            "{}: row {}: virtual stage {} is not on rank {} in loop order (v mod P = {}); "
            "V-shaped placements are not supported", source, r + 1, a.virtual_stage, r, a.virtual_stage % P));
      V = std::max(V, a.virtual_stage / P + 1);
      N = std::max(N, a.micro_batch);
    }
  }
  if (N == 0) return Status::InvalidArgument(fmt::format("{}: no actions", source));
  PACI_RETURN_IF_ERROR(ReadLegacyBackwardNames(source, actions));
  for (auto& row : actions) DeferReceivesToTheirConsumers(row);
  Result<ir::PipelineSpec> spec = ImportedSpec(P, V, N, options);
  if (!spec.ok()) return Status::InvalidArgument(fmt::format("{}: {}", source, spec.status().message()));
  ir::Schedule schedule;
  schedule.set_ir_version(kIrVersion);
  *schedule.mutable_spec() = *spec;
  const bool flush = IsFlushSchedule(options.kind) || options.kind == ir::SCHEDULE_KIND_UNSPECIFIED;
  const uint64_t K = std::max<uint32_t>(1, spec->accum());
  uint64_t id = 0;
  for (uint32_t r = 0; r < P; ++r) {
    ir::StageStream& stream = *schedule.add_streams();
    stream.set_stage(r);
    stream.set_weight_policy(WeightPolicyFor(options.kind));
    auto add = [&](ir::OpKind kind, uint32_t chunk, uint64_t mb) {
      ir::Op& op = *stream.add_prefix();
      op.set_id(id++);
      op.set_stage(r);
      op.set_chunk(chunk);
      op.set_micro_batch(mb);
      op.set_kind(kind);
    };
    const std::vector<Action>& row = actions[r];
    for (size_t i = 0; i < row.size(); ++i) {
      const Action& a = row[i];
      add(a.kind, a.virtual_stage / P, a.micro_batch);
      if (!options.add_optimizer_steps || flush || !CompletesBackward(a.kind) ||
          (a.micro_batch % K != 0 && a.micro_batch != N))
        continue;
      // As PACI does (docs/method.md §3.3): send the input gradient first, then step.
      if (i + 1 < row.size() && row[i + 1].kind == ir::SEND_GRAD && row[i + 1].micro_batch == a.micro_batch) {
        add(ir::SEND_GRAD, row[i + 1].virtual_stage / P, a.micro_batch);
        ++i;
      }
      add(ir::OPTIMIZER_STEP, 0, a.micro_batch);
    }
    if (options.add_optimizer_steps && flush) add(ir::OPTIMIZER_STEP, 0, N);
  }
  // Compute-only input says nothing about when a stage may start: without messages the simulator
  // would run every rank's first forward at time 0. Lower it as PyTorch's runtime does
  // (`_add_send_recv`) so each op waits for the op it depends on.
  if (options.lower_compute_only && P > 1 && !HasCommActions(actions)) return WithCommOps(schedule);
  return schedule;
}

}  // namespace paci
