#include "sim/simulator.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <string>
#include <vector>

#include "proto/ir_names.h"
#include "sched/expanded_schedule.h"
#include "sched/limits.h"
#include "sched/op_messages.h"
#include "sched/op_trace.h"
#include "sched/pipeline_spec.h"
#include "sched/schedule_generator.h"
#include "sched/weight_version_analysis.h"
#include "sched/weight_version_rule.h"
#include "sim/event_queue.h"
#include "sim/stage_cost_model.h"
#include "sim/stage_state.h"

namespace paci::sim {
namespace {

// PipeMare keeps, beside its one weight version, the EMA delta of its weight updates and the
// backward's corrected weights w - d * delta (exec/runtime/cpu_backend.h and exec/cuda hold both).
constexpr uint32_t kPipeMareExtraWeightBuffers = 2;

struct StageState {
  StageState(const ir::StageStream& stream, uint64_t id_base) : cursor(stream, id_base) {}

  StageOpCursor cursor;
  ir::WeightPolicy policy = ir::SYNC_AFTER_FLUSH;
  Mailbox mail[2];                     // [0] activations, [1] gradients
  bool waiting = false;                // the compute lane waits for a message not yet sent
  int64_t send_free_ns = 0;            // when the send lane is next free
  int64_t live_version = 0;            // optimizer steps completed
  std::vector<InFlightRing> inflight;  // per chunk, forwards awaiting their backward
  uint32_t live_acts = 0, live_wgrads = 0;
  uint32_t stash_distinct = 0;  // distinct versions in inflight[0] (STASH)
  uint64_t mem_bytes = 0;
  uint64_t drift_sum = 0, backwards = 0;
  std::vector<int64_t> unapplied;  // forward versions of gradients the next step applies
  uint64_t staleness_sum = 0, applied = 0;
  StageMetrics m;
  // Co-location: the compute op in progress on a shared device, its work left (ns at full speed)
  // and the end it is scheduled for; `event_seq` is the stage's one valid pending event.
  bool running = false;
  double remaining_ns = 0;
  int64_t op_start_ns = 0, scheduled_end_ns = 0, op_version = 0;
  PlainOp op;
  uint64_t event_seq = 0;
};

// Stages sharing one device progress at 1 / Slowdown(busy) of their own speed (processor sharing);
// with slots, at most that many are busy and the others wait their turn in `turns`, in order.
struct DeviceState {
  std::vector<uint32_t> members;
  uint32_t busy = 0;
  int64_t last_ns = 0;
  std::deque<uint32_t> turns;
};

class Engine {
 public:
  Engine(const ir::Schedule& schedule, const StageCostModel& cost, const SimulationOptions& opt)
      : schedule_(schedule), cost_(cost), sink_(opt.sink),
        samples_(opt.sink != nullptr && opt.memory_samples), P_(schedule.spec().stages()),
        V_(schedule.spec().chunks()), K_(std::max<uint32_t>(1, schedule.spec().accum())) {}

  Status Run();
  SimulationResult TakeResult() const;

 private:
  static constexpr int64_t kNoResume = -1;  // also: a shared-device op scheduled its own end
  int64_t Advance(uint32_t s, int64_t now);
  bool Receive(uint32_t s, const PlainOp& op, int64_t now, int64_t* resume);
  void Send(uint32_t s, const PlainOp& op, int64_t now);
  int64_t Compute(uint32_t s, const PlainOp& op, int64_t now);
  void Complete(StageState& st, const PlainOp& op, int64_t start, int64_t end, int64_t version);
  void StartShared(uint32_t s, const PlainOp& op, int64_t now, int64_t work_ns, int64_t version);
  void Begin(StageState& st, DeviceState& d, int64_t now);
  void FinishShared(uint32_t s, int64_t now);
  void Progress(DeviceState& d, int64_t now);
  void Reschedule(DeviceState& d, int64_t now);
  void Schedule(int64_t t, uint32_t s) {
    stages_[s].event_seq = queue_.inserted();
    queue_.Insert(t, s);
  }
  void Backward(StageState& st, const PlainOp& op, int64_t* version);
  void ApplyGradients(StageState& st);
  int64_t ForwardVersion(const StageState& st, const PlainOp& op) const;
  uint32_t WeightCopies(const StageState& st) const;
  void SetMemory(StageState& st, uint32_t s, int64_t t);
  void Emit(const PlainOp& op, int64_t start, int64_t end, int64_t version, uint64_t live_bytes);
  int64_t Fail(const std::string& why) {
    if (error_.ok()) error_ = Status::FailedPrecondition("simulate: " + why);
    return kNoResume;
  }
  // The costs are too large for int64 ns: bad input, not a broken schedule.
  int64_t TooLong(const std::string& what) {
    if (error_.ok())
      error_ = Status::InvalidArgument("simulate: " + what +
                                       " ends after 2^63 ns; the run is too long to simulate");
    return kNoResume;
  }
  std::string Describe(const PlainOp& op) const {
    return "stage " + std::to_string(op.stage) + " op " + std::to_string(op.id) + " (" + OpKindCode(op.kind) +
           " micro-batch " + std::to_string(op.micro_batch) + " chunk " + std::to_string(op.chunk) + ")";
  }

  const ir::Schedule& schedule_;
  const StageCostModel& cost_;
  TraceSink* sink_;
  bool samples_;
  uint32_t P_, V_, K_;
  std::vector<StageState> stages_;
  std::vector<DeviceState> devices_;  // only when a stage shares its device
  EventQueue queue_;
  ir::TraceEvent event_;  // reused for every emitted op
  Status error_;
  int64_t max_end_ = 0;
  uint64_t ops_ = 0;
};

Status Engine::Run() {
  const std::vector<uint64_t> bases = StageIdBases(schedule_);
  stages_.reserve(P_);
  for (uint32_t s = 0; s < P_; ++s) {
    const ir::StageStream& stream = schedule_.streams(static_cast<int>(s));
    if (stream.stage() != s)
      return Status::InvalidArgument("simulate: streams[" + std::to_string(s) + "] is for stage " +
                                     std::to_string(stream.stage()));
    StageState& st = stages_.emplace_back(stream, bases[s]);
    st.policy = stream.weight_policy();
    if (st.policy == ir::STASH && V_ > 1)
      return Status::InvalidArgument("simulate: weight stashing with several chunks per stage");
    st.inflight.resize(V_);
    st.m.stage = s;
    st.m.weight_versions = st.policy == ir::DOUBLE_BUFFER ? 2 : 1;
    st.m.transient_bytes = cost_.Memory(s).transient_bytes;
    if (schedule_.spec().kind() == ir::PIPEMARE) st.m.extra_weight_buffers = kPipeMareExtraWeightBuffers;
    st.stash_distinct = 0;
    SetMemory(st, s, 0);
    if (samples_)
      sink_->OnMemory([&] {
        ir::MemorySample m;
        m.set_stage(s);
        m.set_time_ns(0);
        m.set_live_bytes(st.mem_bytes);
        return m;
      }());
  }
  const bool shared = cost_.AnyShared();
  if (shared) {
    devices_.resize(cost_.devices());
    for (uint32_t s = 0; s < P_; ++s)
      if (cost_.SharesDevice(s)) devices_[cost_.Device(s)].members.push_back(s);
  }
  queue_.Reserve(P_ + 1);
  for (uint32_t s = 0; s < P_; ++s) Schedule(0, s);
  // The stage at the top resumes; its next event (if any) replaces it in one sift-down. Wake-ups
  // it inserts for other stages cannot overtake the top: they are at >= now with a later seq.
  // With shared devices an op's end moves when a neighbour starts or ends; the moved event is
  // inserted anew and the old one, no longer its stage's event_seq, is dropped when it surfaces.
  while (!queue_.Empty() && error_.ok()) {
    const Event e = queue_.Top();
    if (shared) {
      StageState& st = stages_[e.stage()];
      if ((e.key >> Event::kStageBits) != st.event_seq) {
        queue_.PopTop();
        continue;
      }
      if (st.running) FinishShared(e.stage(), e.time_ns);
    }
    const int64_t resume = Advance(e.stage(), e.time_ns);
    if (resume == kNoResume) {
      queue_.PopTop();
    } else {
      stages_[e.stage()].event_seq = queue_.inserted();
      queue_.ReplaceTop(resume, e.stage());
    }
  }
  if (!error_.ok()) return error_;
  std::string blocked;
  for (const StageState& st : stages_) {
    if (st.cursor.Done()) continue;
    blocked += (blocked.empty() ? "" : "; ") + Describe(st.cursor.Current());
  }
  if (!blocked.empty())
    return Status::FailedPrecondition("simulate: deadlock: these ops wait for messages never sent: " +
                                      blocked);
  return Status::Ok();
}

// Plays stage s's stream from `now` until it starts a compute op, waits for a message, or ends.
// Returns when the stage resumes (the compute op's end, a known arrival) or kNoResume.
int64_t Engine::Advance(uint32_t s, int64_t now) {
  StageState& st = stages_[s];
  st.waiting = false;
  while (!st.cursor.Done()) {
    const PlainOp& op = st.cursor.Current();
    if (IsRecv(op.kind)) {
      int64_t resume = kNoResume;
      if (!Receive(s, op, now, &resume)) return resume;
    } else if (IsSend(op.kind)) {
      Send(s, op, now);
    } else {
      const int64_t end = Compute(s, op, now);
      ++ops_;
      st.cursor.Next();
      return end;
    }
    if (!error_.ok()) return kNoResume;
    ++ops_;
    st.cursor.Next();
  }
  return kNoResume;
}

// True when the message has arrived by `now` (the op is played); otherwise arranges to resume.
bool Engine::Receive(uint32_t s, const PlainOp& op, int64_t now, int64_t* resume) {
  StageState& st = stages_[s];
  const std::optional<MessageKey> key = MessageOf(op, P_, V_);
  if (!key) {
    Fail(Describe(op) + " receives from outside the pipeline");
    return false;
  }
  Mailbox& box = st.mail[key->is_grad ? 1 : 0];
  const Message* msg = box.Find(op.micro_batch, key->to_virtual);
  if (msg == nullptr) {
    st.waiting = true;  // Send() wakes the stage when this message is posted
    return false;
  }
  if (msg->arrival_ns > now) {
    *resume = msg->arrival_ns;
    return false;
  }
  if (sink_) Emit(op, msg->sent_ns, msg->arrival_ns, -1, st.mem_bytes);
  box.Remove(msg);
  return true;
}

// Queues the message on the send lane and posts it to the receiver's mailbox.
void Engine::Send(uint32_t s, const PlainOp& op, int64_t now) {
  StageState& st = stages_[s];
  const std::optional<MessageKey> key = MessageOf(op, P_, V_);
  if (!key) {
    Fail(Describe(op) + " sends outside the pipeline");
    return;
  }
  const uint32_t to = key->to_virtual;
  const uint32_t dest = StageChunkOf(to, P_).stage;
  // Link i joins stage i and i+1; link P-1 is the interleaved wrap between stage P-1 and 0.
  const uint32_t lo = std::min(key->from_virtual, to) % P_;
  const uint32_t link = (lo == P_ - 1) ? P_ - 1 : lo;
  const int64_t start = std::max(now, st.send_free_ns);
  int64_t arrival = 0;
  if (__builtin_add_overflow(start, cost_.TransferNs(link), &arrival)) {
    TooLong(Describe(op));
    return;
  }
  st.send_free_ns = arrival;
  st.m.send_busy_ns += arrival - start;
  max_end_ = std::max(max_end_, arrival);
  StageState& rx = stages_[dest];
  rx.mail[key->is_grad ? 1 : 0].Post(Message{op.micro_batch, to, start, arrival});
  // A waiting stage is blocked on a receive; wake it when this is the message it waits for.
  if (rx.waiting && MessageOf(rx.cursor.Current(), P_, V_) == key) {
    rx.waiting = false;
    Schedule(arrival, dest);
  }
  if (sink_) Emit(op, start, arrival, -1, st.mem_bytes);
}

int64_t Engine::ForwardVersion(const StageState& st, const PlainOp& op) const {
  return ForwardVersionOf(st.policy, op.micro_batch, K_, st.live_version);  // sched/weight_version_rule.h
}

// Weight copies a stage holds now: the live copy plus, when stashing, each older version an
// in-flight micro-batch still needs (versions in the FIFO are non-decreasing).
uint32_t Engine::WeightCopies(const StageState& st) const {
  if (st.policy == ir::DOUBLE_BUFFER) return 2;
  if (st.policy != ir::STASH) return 1;
  const InFlightRing& r = st.inflight[0];
  const bool live_extra = r.Empty() || st.live_version > r.Back().version;
  return st.stash_distinct + (live_extra ? 1 : 0);
}

void Engine::SetMemory(StageState& st, uint32_t s, int64_t t) {
  const StageMemory& mem = cost_.Memory(s);
  const uint32_t copies = WeightCopies(st);
  st.m.weight_versions = std::max(st.m.weight_versions, copies);
  const unsigned __int128 wide =
      static_cast<unsigned __int128>(mem.weight_bytes) * (copies + st.m.extra_weight_buffers) +
      mem.static_bytes + static_cast<unsigned __int128>(mem.activation_bytes) * st.live_acts +
      static_cast<unsigned __int128>(mem.weight_grad_bytes) * st.live_wgrads +
      // A compensation's estimate exists only while an op runs, but a stage's peak is reached
      // during an op (a forward holds its new activations, a backward the ones it frees at its
      // end), so counting it always adds it exactly to the peak; between ops it is over by it.
      mem.transient_bytes;
  if (wide > UINT64_MAX) {
    if (error_.ok())
      error_ =
          Status::InvalidArgument("simulate: stage " + std::to_string(s) + " holds more than 2^64 bytes");
    return;
  }
  const uint64_t bytes = static_cast<uint64_t>(wide);
  if (bytes == st.mem_bytes && t > 0) return;
  st.mem_bytes = bytes;
  st.m.peak_memory_bytes = std::max(st.m.peak_memory_bytes, bytes);
  if (samples_ && t > 0) {
    ir::MemorySample sample;
    sample.set_stage(s);
    sample.set_time_ns(t);
    sample.set_live_bytes(bytes);
    sink_->OnMemory(sample);
  }
}

// A compute op: its effects are applied now, at the time they take place (activations are
// allocated when a forward starts and freed when the backward ends); only the compute lane
// changes a stage's state, so nothing can observe them early. Resumes the stage at the end.
int64_t Engine::Compute(uint32_t s, const PlainOp& op, int64_t now) {
  StageState& st = stages_[s];
  int64_t end = 0;
  if (__builtin_add_overflow(now, cost_.Duration(op), &end)) return TooLong(Describe(op));
  int64_t version = st.live_version;
  if (op.chunk >= V_) return Fail(Describe(op) + " names a chunk beyond the schedule's chunks");
  switch (op.kind) {
    case ir::FORWARD: {
      version = ForwardVersion(st, op);
      InFlightRing& ring = st.inflight[op.chunk];
      if (st.policy == ir::STASH && (ring.Empty() || ring.Back().version != version)) ++st.stash_distinct;
      ring.Push(InFlight{op.micro_batch, version});
      st.m.peak_activations = std::max(st.m.peak_activations, ++st.live_acts);
      SetMemory(st, s, now);
      break;
    }
    case ir::BACKWARD:
    case ir::BACKWARD_INPUT:
      Backward(st, op, &version);
      SetMemory(st, s, end);
      break;
    case ir::BACKWARD_WEIGHT:
      if (st.live_wgrads == 0) return Fail(Describe(op) + " has no pending input-gradient");
      --st.live_wgrads;
      SetMemory(st, s, end);
      break;
    case ir::OPTIMIZER_STEP:
      ApplyGradients(st);
      ++st.live_version;
      ++st.m.optimizer_steps;
      if (st.policy == ir::STASH) SetMemory(st, s, end);
      break;
    default: return Fail(Describe(op) + " is not an op the simulator knows");
  }
  if (!error_.ok()) return kNoResume;
  if (cost_.SharesDevice(s)) {
    StartShared(s, op, now, end - now, version);
    return kNoResume;
  }
  Complete(st, op, now, end, version);
  return end;
}

void Engine::Complete(StageState& st, const PlainOp& op, int64_t start, int64_t end, int64_t version) {
  if (st.m.compute_ops++ == 0) st.m.first_start_ns = start;
  st.m.busy_ns += end - start;
  st.m.last_end_ns = end;
  max_end_ = std::max(max_end_, end);
  if (sink_) Emit(op, start, end, version, st.mem_bytes);
}

// Work done on device d since its last change, at the rate its busy count allowed.
void Engine::Progress(DeviceState& d, int64_t now) {
  if (d.busy > 0 && now > d.last_ns) {
    const double done = static_cast<double>(now - d.last_ns) / cost_.Slowdown(d.busy);
    for (uint32_t m : d.members)
      if (stages_[m].running) stages_[m].remaining_ns = std::max(0.0, stages_[m].remaining_ns - done);
  }
  d.last_ns = now;
}

// Moves the end of every op running on d to where its remaining work at the current rate puts it.
void Engine::Reschedule(DeviceState& d, int64_t now) {
  const double slow = cost_.Slowdown(d.busy);
  for (uint32_t m : d.members) {
    StageState& st = stages_[m];
    if (!st.running) continue;
    const int64_t end = now + static_cast<int64_t>(std::llround(st.remaining_ns * slow));
    if (end == st.scheduled_end_ns) continue;  // unchanged: its queued event stands
    st.scheduled_end_ns = end;
    Schedule(end, m);
  }
}

void Engine::StartShared(uint32_t s, const PlainOp& op, int64_t now, int64_t work_ns, int64_t version) {
  StageState& st = stages_[s];
  DeviceState& d = devices_[cost_.Device(s)];
  st.remaining_ns = static_cast<double>(work_ns);
  st.op = op;
  st.op_version = version;
  if (cost_.Slots() > 0 && d.busy >= cost_.Slots()) {
    d.turns.push_back(s);  // FinishShared starts it when a slot frees
    return;
  }
  Progress(d, now);
  Begin(st, d, now);
  Reschedule(d, now);
}

void Engine::Begin(StageState& st, DeviceState& d, int64_t now) {
  st.running = true;
  st.op_start_ns = now;
  st.scheduled_end_ns = -1;
  ++d.busy;
}

void Engine::FinishShared(uint32_t s, int64_t now) {
  StageState& st = stages_[s];
  DeviceState& d = devices_[cost_.Device(s)];
  Progress(d, now);
  st.running = false;
  st.remaining_ns = 0;
  --d.busy;
  Complete(st, st.op, st.op_start_ns, now, st.op_version);
  if (!d.turns.empty()) {
    Begin(stages_[d.turns.front()], d, now);
    d.turns.pop_front();
  }
  Reschedule(d, now);
}

// Pops the backward's forward (FIFO per chunk), records drift, frees its activation.
void Engine::Backward(StageState& st, const PlainOp& op, int64_t* version) {
  InFlightRing& ring = st.inflight[op.chunk];
  if (ring.Empty() || ring.Front().micro_batch != op.micro_batch) {
    Fail(Describe(op) + " runs before its forward or out of forward order");
    return;
  }
  const int64_t vf = ring.Front().version;
  const int64_t vb = BackwardVersionOf(st.policy, vf, st.live_version);
  ring.Pop();
  if (st.policy == ir::STASH && (ring.Empty() || ring.Front().version != vf)) --st.stash_distinct;
  const uint64_t d = static_cast<uint64_t>(std::max<int64_t>(0, vb - vf));
  if (st.m.drift_histogram.size() <= d) st.m.drift_histogram.resize(d + 1, 0);
  ++st.m.drift_histogram[d];
  st.m.max_drift = std::max(st.m.max_drift, static_cast<uint32_t>(d));
  st.drift_sum += d;
  ++st.backwards;
  st.unapplied.push_back(vf);
  --st.live_acts;
  if (op.kind == ir::BACKWARD_INPUT)
    st.m.peak_weight_grads = std::max(st.m.peak_weight_grads, ++st.live_wgrads);
  *version = vb;
}

// The step about to run updates the live version with the gradients accumulated since the last.
void Engine::ApplyGradients(StageState& st) {
  for (int64_t vf : st.unapplied) {
    const uint64_t staleness = static_cast<uint64_t>(std::max<int64_t>(0, st.live_version - vf));
    st.m.max_gradient_staleness = std::max(st.m.max_gradient_staleness, static_cast<uint32_t>(staleness));
    st.staleness_sum += staleness;
    ++st.applied;
  }
  st.unapplied.clear();
}

void Engine::Emit(const PlainOp& op, int64_t start, int64_t end, int64_t version, uint64_t live_bytes) {
  FillTraceEvent(op, start, end, version, live_bytes, &event_);  // lane: LaneOf(op.kind), as modelled
  sink_->OnOp(event_);
}

SimulationResult Engine::TakeResult() const {
  SimulationResult r;
  r.makespan_ns = max_end_;
  r.microbatches = schedule_.spec().total_microbatches();
  r.ops = ops_;
  r.optimizer_updates = stages_.empty() ? 0 : stages_[0].m.optimizer_steps;
  const double secs = static_cast<double>(max_end_) * 1e-9;
  if (secs > 0) {
    r.throughput_microbatches_per_s = static_cast<double>(r.microbatches) / secs;
    r.tokens_per_s = r.throughput_microbatches_per_s * static_cast<double>(cost_.tokens_per_microbatch());
  }
  double idle = 0;  // a sum over stages of times up to 2^63 ns each
  for (const StageState& st : stages_) {
    StageMetrics m = st.m;
    m.idle_ns = max_end_ - m.busy_ns;
    idle += static_cast<double>(m.idle_ns);
    m.bubble_fraction = max_end_ > 0 ? static_cast<double>(m.idle_ns) / static_cast<double>(max_end_) : 0;
    const int64_t span = m.last_end_ns - m.first_start_ns;
    m.span_bubble_fraction = span > 0 ? 1.0 - static_cast<double>(m.busy_ns) / static_cast<double>(span) : 0;
    m.mean_drift = st.backwards ? static_cast<double>(st.drift_sum) / static_cast<double>(st.backwards) : 0;
    m.mean_gradient_staleness =
        st.applied ? static_cast<double>(st.staleness_sum) / static_cast<double>(st.applied) : 0;
    r.peak_activations = std::max(r.peak_activations, m.peak_activations);
    r.stages.push_back(std::move(m));
  }
  if (max_end_ > 0 && P_ > 0) r.bubble_fraction = idle / (static_cast<double>(max_end_) * P_);
  return r;
}

}  // namespace

Result<SimulationResult> Simulate(const ir::Schedule& schedule, const ir::CostModel& cost,
                                  const SimulationOptions& options) {
  const uint32_t P = schedule.spec().stages();
  PACI_RETURN_IF_ERROR(CheckPlayedWork(schedule.spec()));  // op by op: bound the time it takes
  if (P == 0 || schedule.streams_size() != static_cast<int>(P))
    return Status::InvalidArgument("simulate: schedule has " + std::to_string(schedule.streams_size()) +
                                   " streams for " + std::to_string(P) + " stages");
  if (schedule.spec().chunks() == 0)  // a check, not a default: generation and reading normalise it
    return Status::InvalidArgument(
        "simulate: spec.chunks is 0; specs are normalised when generated or read "
        "(sched/pipeline_spec.h)");
  ::paci::Result<StageCostModel> model = StageCostModel::Create(cost, P, schedule.spec().chunks());
  if (!model.ok()) return model.status();
  Engine engine(schedule, *model, options);
  PACI_RETURN_IF_ERROR(engine.Run());
  return engine.TakeResult();
}

Status Replay(const ir::Schedule& stored, const ir::CostModel& cost, TraceSink& sink) {
  ir::Schedule schedule = stored;  // read from a store, maybe an old one: normalised on reading
  NormalizeChunks(&schedule);
  SimulationOptions options;
  options.sink = &sink;
  return Simulate(schedule, cost, options).status();
}

Result<SimulationResult> SimulateSpec(const ir::PipelineSpec& spec, const ir::CostModel& cost,
                                      const SimulationOptions& options) {
  ::paci::Result<ir::Schedule> schedule = GenerateSchedule(spec);
  if (!schedule.ok()) return schedule.status();
  return Simulate(*schedule, cost, options);
}

}  // namespace paci::sim
