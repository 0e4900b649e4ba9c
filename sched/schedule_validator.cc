#include "sched/schedule_validator.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "proto/ir_names.h"
#include "sched/expanded_schedule.h"
#include "sched/ir_version.h"
#include "sched/limits.h"
#include "sched/op_messages.h"
#include "sched/pipeline_spec.h"
#include "sched/schedule_text.h"
#include "sched/weight_version_analysis.h"

namespace paci {
namespace {

// What has been seen (or run) per (virtual stage, micro-batch).
enum Bit : uint8_t { kF = 1, kB = 2, kI = 4, kW = 8, kRecvF = 16, kSendF = 32, kRecvB = 64, kSendB = 128 };

uint8_t BitOf(ir::OpKind k) {
  switch (k) {
    case ir::FORWARD: return kF;
    case ir::BACKWARD: return kB;
    case ir::BACKWARD_INPUT: return kI;
    case ir::BACKWARD_WEIGHT: return kW;
    case ir::RECV_ACTIVATION: return kRecvF;
    case ir::SEND_ACTIVATION: return kSendF;
    case ir::RECV_GRAD: return kRecvB;
    case ir::SEND_GRAD: return kSendB;
    default: return 0;
  }
}

enum class BackwardForm { kFull, kSplit, kEither };

struct Layout {
  uint32_t P = 1, V = 1;
  uint64_t N = 0, K = 1;
  bool explicit_comms = false;  // the schedule has SEND/RECV ops, so they must all be there
  BackwardForm form = BackwardForm::kFull;
  uint32_t Last() const { return P * V - 1; }
};

class BitTable {
 public:
  explicit BitTable(const Layout& l) : stride_(l.N + 1), bits_(size_t{l.P} * l.V * stride_, 0) {}
  uint8_t& At(uint32_t v, uint64_t n) { return bits_[v * stride_ + n]; }

 private:
  uint64_t stride_;
  std::vector<uint8_t> bits_;
};

PlainOp MakeOp(uint32_t virtual_stage, uint32_t P, ir::OpKind kind, uint64_t mb) {
  const StageChunk sc = StageChunkOf(virtual_stage, P);
  return PlainOp{0, sc.stage, sc.chunk, mb, kind};
}

Status Broken(const PlainOp& op, const Layout& l, std::string_view rule, const std::string& why) {
  return Status::InvalidArgument(fmt::format("stage {}: op {} (id {}) breaks rule '{}': {}", op.stage,
                                             OpText(op, l.P), op.id, rule, why));
}

Status Missing(const PlainOp& op, const Layout& l, std::string_view rule, const std::string& why) {
  return Status::InvalidArgument(
      fmt::format("stage {}: op {} (missing) breaks rule '{}': {}", op.stage, OpText(op, l.P), rule, why));
}

Status SpecError(const std::string& why) {
  return Status::InvalidArgument("schedule breaks rule 'spec': " + why);
}

bool HasCommOps(const ir::Schedule& schedule) {
  for (const auto& stream : schedule.streams())
    for (const auto* section : {&stream.prefix(), &stream.body(), &stream.suffix()})
      for (const ir::Op& op : *section)
        if (IsSend(op.kind()) || IsRecv(op.kind())) return true;
  return false;
}

// Ids are 0 (assigned by expansion) or the dense stage-major id of the op's position. A body op
// stands for many ops, so it cannot carry one id.
Status CheckIds(const ir::Schedule& schedule, const Layout& l) {
  const std::vector<uint64_t> bases = StageIdBases(schedule);
  for (uint32_t s = 0; s < l.P; ++s) {
    const ir::StageStream& stream = schedule.streams(s);
    const uint64_t suffix_start = stream.prefix_size() + stream.body_size() * stream.body_repeats();
    auto check = [&](const ir::Op& op, std::optional<uint64_t> expected) {
      if (op.id() == 0 || (expected && op.id() == *expected)) return Status::Ok();
      PlainOp plain{op.id(), op.stage(), op.chunk(), op.micro_batch(), op.kind()};
      return Broken(plain, l, "op-fields",
                    expected ? fmt::format("id {} but its position gives {}", op.id(), *expected)
                             : std::string("an op of a repeated body must have id 0"));
    };
    for (int i = 0; i < stream.prefix_size(); ++i)
      PACI_RETURN_IF_ERROR(check(stream.prefix(i), bases[s] + i));
    for (const ir::Op& op : stream.body()) PACI_RETURN_IF_ERROR(check(op, std::nullopt));
    for (int i = 0; i < stream.suffix_size(); ++i)
      PACI_RETURN_IF_ERROR(check(stream.suffix(i), bases[s] + suffix_start + i));
  }
  return Status::Ok();
}

Result<Layout> CheckSpec(const ir::Schedule& schedule) {
  if (schedule.ir_version() != kIrVersion)
    return SpecError(fmt::format("ir_version {} (expected {})", schedule.ir_version(), kIrVersion));
  ir::PipelineSpec spec = schedule.spec();
  if (spec.kind() != ir::SCHEDULE_KIND_UNSPECIFIED) {
    Result<ir::PipelineSpec> normalized = NormalizeSpec(spec);
    if (!normalized.ok()) return SpecError(normalized.status().message());
    spec = *normalized;
  } else if (spec.stages() == 0 || spec.total_microbatches() == 0) {
    return SpecError("stages and total_microbatches must be at least 1");
  } else if (Status st = CheckSpecLimits(spec); !st.ok()) {
    return SpecError(st.message());
  }
  Layout l;
  l.P = spec.stages();
  l.V = std::max<uint32_t>(1, spec.chunks());
  l.N = spec.total_microbatches();
  l.K = std::max<uint32_t>(1, spec.accum());
  if (Status st = CheckPlayedWork(spec); !st.ok()) return SpecError(st.message());  // BitTable's bytes
  if (schedule.streams_size() != static_cast<int>(l.P))
    return SpecError(fmt::format("{} streams for {} stages", schedule.streams_size(), l.P));
  l.explicit_comms = HasCommOps(schedule);
  l.form = SplitsBackward(spec.kind())                    ? BackwardForm::kSplit
           : spec.kind() == ir::SCHEDULE_KIND_UNSPECIFIED ? BackwardForm::kEither
                                                          : BackwardForm::kFull;
  for (int s = 0; s < schedule.streams_size(); ++s) {
    const ir::StageStream& stream = schedule.streams(s);
    // Every chunk runs a forward of every micro-batch, so a stream shorter than V * N cannot be
    // complete. Checked before the bit table is sized by N: a few hand-written ops claiming a
    // huge micro-batch index would otherwise allocate gigabytes only to be refused later.
    if (StageLength(stream) < uint64_t{l.V} * l.N)
      return Status::InvalidArgument(
          fmt::format("stage {}: stream breaks rule 'op-count': {} ops cannot hold a forward of each of {} "
                      "micro-batches x {} chunks",
                      s, StageLength(stream), l.N, l.V));
    if (stream.stage() != static_cast<uint32_t>(s))
      return Status::InvalidArgument(fmt::format(
          "stage {}: stream breaks rule 'stream-stage': streams[{}].stage is {}", s, s, stream.stage()));
    if (stream.weight_policy() == ir::WEIGHT_POLICY_UNSPECIFIED)
      return Status::InvalidArgument(fmt::format("stage {}: stream breaks rule 'spec': no weight policy", s));
  }
  return l;
}

// Scans one stage's stream in order and checks every rule that only needs this stage.
class StageScan {
 public:
  StageScan(const Layout& l, BitTable& seen, uint32_t stage, ir::WeightPolicy policy)
      : l_(l), seen_(seen), stage_(stage), policy_(policy) {}

  Status Visit(const PlainOp& op) {
    PACI_RETURN_IF_ERROR(CheckFields(op));
    if (op.kind == ir::OPTIMIZER_STEP) return CheckOptimizer(op);
    uint8_t& bits = seen_.At(VirtualStageOf(op, l_.P), op.micro_batch);
    if (bits & BitOf(op.kind))
      return Broken(
          op, l_, "exactly-once",
          fmt::format("second {} of micro-batch {} on this chunk", OpKindCode(op.kind), op.micro_batch));
    PACI_RETURN_IF_ERROR(IsCompute(op.kind) ? CheckCompute(op, bits) : CheckComm(op, bits));
    bits |= BitOf(op.kind);
    return Status::Ok();
  }

  const std::vector<uint64_t>& steps() const { return steps_; }

 private:
  Status CheckFields(const PlainOp& op) const {
    if (op.stage != stage_)
      return Broken(op, l_, "stream-stage",
                    fmt::format("op says stage {} in the stream of stage {}", op.stage, stage_));
    if (op.kind < ir::FORWARD || op.kind > ir::OPTIMIZER_STEP)
      return Broken(op, l_, "op-fields", "no op kind");
    if (op.kind == ir::OPTIMIZER_STEP)
      return op.micro_batch <= l_.N
                 ? Status::Ok()
                 : Broken(op, l_, "op-fields", fmt::format("micro-batch beyond N = {}", l_.N));
    if (op.chunk >= l_.V)
      return Broken(op, l_, "op-fields", fmt::format("chunk {} but V = {}", op.chunk, l_.V));
    if (op.micro_batch < 1 || op.micro_batch > l_.N)
      return Broken(op, l_, "op-fields", fmt::format("micro-batch outside 1..{}", l_.N));
    return Status::Ok();
  }

  Status CheckCompute(const PlainOp& op, uint8_t bits) {
    const uint32_t v = VirtualStageOf(op, l_.P);
    const uint64_t n = op.micro_batch;
    if (op.kind == ir::FORWARD) {
      if (l_.explicit_comms && v > 0 && !(bits & kRecvF))
        return Broken(op, l_, "order", "F before the RECV_F of its input");
      ++inflight_;
      return CheckVersionHeld(op, /*at_forward=*/true);
    }
    if (op.kind == ir::BACKWARD_WEIGHT) {
      if (!(bits & kI)) return Broken(op, l_, "order", fmt::format("W before the I of micro-batch {}", n));
      --inflight_;
      return CheckVersionHeld(op, false);
    }
    const bool full = op.kind == ir::BACKWARD;
    if (!(bits & kF))
      return Broken(op, l_, "order", fmt::format("backward before the F of micro-batch {}", n));
    if (full && l_.form == BackwardForm::kSplit)
      return Broken(op, l_, "exactly-once", "this schedule kind splits the backward into I and W");
    if (!full && l_.form == BackwardForm::kFull)
      return Broken(op, l_, "exactly-once", "this schedule kind does not split the backward (use B)");
    if (bits & (full ? (kI | kW) : kB))
      return Broken(op, l_, "exactly-once", "micro-batch has both B and I/W");
    if (l_.explicit_comms && v < l_.Last() && !(bits & kRecvB))
      return Broken(op, l_, "order", "backward before the RECV_B of its output gradient");
    if (full) --inflight_;
    return CheckVersionHeld(op, false);
  }

  Status CheckComm(const PlainOp& op, uint8_t bits) const {
    const uint32_t v = VirtualStageOf(op, l_.P);
    switch (op.kind) {
      case ir::RECV_ACTIVATION:
        if (v == 0) return Broken(op, l_, "pairing", "receives an activation before the first stage");
        return Status::Ok();
      case ir::SEND_ACTIVATION:
        if (!(bits & kF)) return Broken(op, l_, "order", "SEND_F before the F that produces it");
        if (v == l_.Last()) return Broken(op, l_, "pairing", "sends an activation past the last stage");
        return Status::Ok();
      case ir::RECV_GRAD:
        if (v == l_.Last()) return Broken(op, l_, "pairing", "receives a gradient from past the last stage");
        return Status::Ok();
      default:  // SEND_GRAD
        if (!(bits & (kB | kI)))
          return Broken(op, l_, "order", "SEND_B before the backward that produces it");
        if (v == 0) return Broken(op, l_, "pairing", "sends a gradient before the first stage");
        return Status::Ok();
    }
  }

  Status CheckOptimizer(const PlainOp& op) {
    const uint64_t n = op.micro_batch;
    if (!steps_.empty() && n <= steps_.back())
      return Broken(op, l_, "optimizer",
                    fmt::format("OPT micro-batches must increase (previous {})", steps_.back()));
    for (uint32_t c = 0; n > 0 && c < l_.V; ++c)
      if (!(seen_.At(c * l_.P + stage_, n) & (kB | kW)))
        return Broken(op, l_, "optimizer",
                      fmt::format("steps before the backward of micro-batch {} it applies", n));
    if (policy_ == ir::SYNC_AFTER_FLUSH && inflight_ != 0)
      return Broken(op, l_, "optimizer",
                    fmt::format("flush schedule steps with {} micro-batch(es) in flight", inflight_));
    steps_.push_back(n);
    return Status::Ok();
  }

  // Double buffer: the version a micro-batch uses must already exist at F and still be one of the
  // two held (live or the one before) at B/I/W.
  Status CheckVersionHeld(const PlainOp& op, bool at_forward) const {
    if (policy_ != ir::DOUBLE_BUFFER) return Status::Ok();
    const int64_t used = DoubleBufferVersion(op.micro_batch, l_.K), live = steps_.size();
    if (at_forward && used > live)
      return Broken(op, l_, "optimizer",
                    fmt::format("uses version {} before it exists (live {})", used, live));
    if (!at_forward && used < live - 1)
      return Broken(op, l_, "optimizer",
                    fmt::format("uses version {} but only {} and {} are held", used, live - 1, live));
    return Status::Ok();
  }

  const Layout& l_;
  BitTable& seen_;
  uint32_t stage_;
  ir::WeightPolicy policy_;
  int64_t inflight_ = 0;
  std::vector<uint64_t> steps_;
};

std::optional<PlainOp> FindOp(const ir::Schedule& schedule, const PlainOp& want) {
  const std::vector<uint64_t> bases = StageIdBases(schedule);
  for (StageOpCursor c(schedule.streams(want.stage), bases[want.stage]); !c.Done(); c.Next()) {
    PlainOp op = c.Current();
    op.id = 0;
    if (op == want) return c.Current();
  }
  return std::nullopt;
}

Status UnpairedError(const ir::Schedule& schedule, const Layout& l, const PlainOp& op, const PlainOp& peer) {
  std::optional<PlainOp> found = FindOp(schedule, op);
  const std::string why = fmt::format("no matching {} on stage {}", OpText(peer, l.P), peer.stage);
  return found ? Broken(*found, l, "pairing", why) : Missing(op, l, "pairing", why);
}

// Every micro-batch's ops present, and (with comm ops) every message sent and received once.
Status CheckComplete(const Layout& l, BitTable& seen) {
  for (uint32_t v = 0; v <= l.Last(); ++v) {
    for (uint64_t n = 1; n <= l.N; ++n) {
      const uint8_t b = seen.At(v, n);
      auto missing = [&](ir::OpKind kind, const std::string& why) {
        return Missing(MakeOp(v, l.P, kind, n), l, "exactly-once", why);
      };
      if (!(b & kF)) return missing(ir::FORWARD, fmt::format("micro-batch {} has no F", n));
      const bool split = l.form == BackwardForm::kSplit || (l.form == BackwardForm::kEither && (b & kI));
      if (!split && !(b & kB)) return missing(ir::BACKWARD, fmt::format("micro-batch {} has no B", n));
      if (split && !(b & kI)) return missing(ir::BACKWARD_INPUT, fmt::format("micro-batch {} has no I", n));
      if (split && !(b & kW)) return missing(ir::BACKWARD_WEIGHT, fmt::format("micro-batch {} has no W", n));
      if (!l.explicit_comms) continue;
      if (v < l.Last() && !(b & kSendF))
        return Missing(MakeOp(v, l.P, ir::SEND_ACTIVATION, n), l, "pairing", "the F output is never sent");
      if (v > 0 && !(b & kSendB))
        return Missing(MakeOp(v, l.P, ir::SEND_GRAD, n), l, "pairing", "the input gradient is never sent");
      if (v > 0 && !(b & kRecvF))
        return Missing(MakeOp(v, l.P, ir::RECV_ACTIVATION, n), l, "pairing", "the F input is never received");
      if (v < l.Last() && !(b & kRecvB))
        return Missing(MakeOp(v, l.P, ir::RECV_GRAD, n), l, "pairing",
                       "the output gradient is never received");
    }
  }
  return Status::Ok();
}

// Sends and receives that exist without their partner (also in schedules missing comm ops).
Status CheckPairing(const ir::Schedule& schedule, const Layout& l, BitTable& seen) {
  for (uint32_t v = 0; v < l.Last(); ++v) {
    for (uint64_t n = 1; n <= l.N; ++n) {
      const uint8_t lo = seen.At(v, n), hi = seen.At(v + 1, n);
      const PlainOp send_f = MakeOp(v, l.P, ir::SEND_ACTIVATION, n),
                    recv_f = MakeOp(v + 1, l.P, ir::RECV_ACTIVATION, n);
      const PlainOp send_b = MakeOp(v + 1, l.P, ir::SEND_GRAD, n), recv_b = MakeOp(v, l.P, ir::RECV_GRAD, n);
      if ((lo & kSendF) && !(hi & kRecvF)) return UnpairedError(schedule, l, send_f, recv_f);
      if (!(lo & kSendF) && (hi & kRecvF)) return UnpairedError(schedule, l, recv_f, send_f);
      if ((hi & kSendB) && !(lo & kRecvB)) return UnpairedError(schedule, l, send_b, recv_b);
      if (!(hi & kSendB) && (lo & kRecvB)) return UnpairedError(schedule, l, recv_b, send_b);
    }
  }
  return Status::Ok();
}

// Every stage steps after the same micro-batches, so version counts mean the same everywhere.
Status CheckStepsAgree(const ir::Schedule& schedule, const Layout& l,
                       const std::vector<std::vector<uint64_t>>& steps) {
  for (uint32_t s = 1; s < l.P; ++s) {
    const auto& a = steps[0];
    const auto& b = steps[s];
    auto [ia, ib] = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
    if (ia == a.end() && ib == b.end()) continue;
    const std::string why = fmt::format("stage 0 and stage {} step after different micro-batches", s);
    if (ib == b.end()) return Missing(PlainOp{0, s, 0, *ia, ir::OPTIMIZER_STEP}, l, "optimizer", why);
    std::optional<PlainOp> op = FindOp(schedule, PlainOp{0, s, 0, *ib, ir::OPTIMIZER_STEP});
    return Broken(*op, l, "optimizer", why);
  }
  return Status::Ok();
}

// ---- deadlock: run all streams abstractly ----------------------------------------------------

// The op `op` waits for, if it has to wait at all.
std::optional<PlainOp> Dependency(const PlainOp& op, const Layout& l) {
  const uint32_t v = VirtualStageOf(op, l.P);
  const uint64_t n = op.micro_batch;
  if (l.explicit_comms) {
    if (op.kind == ir::RECV_ACTIVATION) return MakeOp(v - 1, l.P, ir::SEND_ACTIVATION, n);
    if (op.kind == ir::RECV_GRAD) return MakeOp(v + 1, l.P, ir::SEND_GRAD, n);
    return std::nullopt;
  }
  if (op.kind == ir::FORWARD && v > 0) return MakeOp(v - 1, l.P, ir::FORWARD, n);
  if ((op.kind == ir::BACKWARD || op.kind == ir::BACKWARD_INPUT) && v < l.Last())
    return MakeOp(v + 1, l.P, op.kind, n);
  return std::nullopt;
}

bool Ready(const PlainOp& op, const Layout& l, BitTable& done) {
  std::optional<PlainOp> dep = Dependency(op, l);
  if (!dep) return true;
  uint8_t want = BitOf(dep->kind);
  if (dep->kind == ir::BACKWARD || dep->kind == ir::BACKWARD_INPUT) want = kB | kI;
  return done.At(VirtualStageOf(*dep, l.P), dep->micro_batch) & want;
}

Status DeadlockError(const std::vector<StageOpCursor>& cursors, const Layout& l) {
  std::string blocked;
  const PlainOp* first = nullptr;
  for (const StageOpCursor& c : cursors) {
    if (c.Done()) continue;
    const PlainOp& op = c.Current();
    if (!first) first = &op;
    const PlainOp dep = *Dependency(op, l);
    blocked += fmt::format("{}stage {} at {} (id {}) waiting for {} on stage {}", blocked.empty() ? "" : "; ",
                           op.stage, OpText(op, l.P), op.id, OpText(dep, l.P), dep.stage);
  }
  return Broken(*first, l, "deadlock", "no stage can advance; blocked: " + blocked);
}

Status CheckDeadlock(const ir::Schedule& schedule, const Layout& l) {
  BitTable done(l);
  const std::vector<uint64_t> bases = StageIdBases(schedule);
  std::vector<StageOpCursor> cursors;
  for (uint32_t s = 0; s < l.P; ++s) cursors.emplace_back(schedule.streams(s), bases[s]);
  // Alternate sweep direction: activations flow down, gradients up.
  for (bool progress = true, down = true; progress; down = !down) {
    progress = false;
    for (uint32_t i = 0; i < l.P; ++i) {
      StageOpCursor& c = cursors[down ? i : l.P - 1 - i];
      for (; !c.Done() && Ready(c.Current(), l, done); c.Next(), progress = true) {
        const PlainOp& op = c.Current();
        if (op.kind != ir::OPTIMIZER_STEP) done.At(VirtualStageOf(op, l.P), op.micro_batch) |= BitOf(op.kind);
      }
    }
  }
  for (const StageOpCursor& c : cursors)
    if (!c.Done()) return DeadlockError(cursors, l);
  return Status::Ok();
}

}  // namespace

Status ValidateSchedule(const ir::Schedule& schedule) {
  Result<Layout> layout = CheckSpec(schedule);
  if (!layout.ok()) return layout.status();
  const Layout& l = *layout;
  PACI_RETURN_IF_ERROR(CheckIds(schedule, l));
  BitTable seen(l);
  std::vector<std::vector<uint64_t>> steps;
  const std::vector<uint64_t> bases = StageIdBases(schedule);
  for (uint32_t s = 0; s < l.P; ++s) {
    StageScan scan(l, seen, s, schedule.streams(s).weight_policy());
    for (StageOpCursor c(schedule.streams(s), bases[s]); !c.Done(); c.Next())
      PACI_RETURN_IF_ERROR(scan.Visit(c.Current()));
    steps.push_back(scan.steps());
  }
  PACI_RETURN_IF_ERROR(CheckPairing(schedule, l, seen));
  PACI_RETURN_IF_ERROR(CheckComplete(l, seen));
  PACI_RETURN_IF_ERROR(CheckStepsAgree(schedule, l, steps));
  return CheckDeadlock(schedule, l);
}

}  // namespace paci
