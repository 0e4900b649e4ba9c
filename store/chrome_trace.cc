#include "store/chrome_trace.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <tuple>
#include <type_traits>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "proto/ir_names.h"

namespace paci::store {
namespace {

using nlohmann::json;

constexpr int kFormatVersion = 1;
constexpr const char* kLaneNames[] = {"compute", "send", "recv"};

// Perfetto keys threads by tid alone in some versions, so tids are unique across processes.
int Pid(uint32_t stage) { return static_cast<int>(stage) + 1; }
int Tid(uint32_t stage, ir::Lane lane) { return Pid(stage) * 1000 + static_cast<int>(lane); }
double Us(int64_t ns) { return static_cast<double>(ns) / 1000.0; }

int LaneIndex(ir::Lane lane) { return lane >= 0 && lane < 3 ? lane : 0; }

ir::Lane LaneOf(const ir::TraceEvent& e) {
  switch (e.kind()) {
    case ir::SEND_ACTIVATION: case ir::SEND_GRAD: return ir::LANE_SEND;
    case ir::RECV_ACTIVATION: case ir::RECV_GRAD: return ir::LANE_RECV;
    case ir::OP_KIND_UNSPECIFIED: return static_cast<ir::Lane>(LaneIndex(e.lane()));
    default: return ir::LANE_COMPUTE;
  }
}

json ProtoToJson(const google::protobuf::Message& msg) {
  std::string text;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(msg, &text, options).ok()) return nullptr;
  return json::parse(text);
}

bool JsonToProto(const json& j, google::protobuf::Message* msg) {
  return google::protobuf::util::JsonStringToMessage(j.dump(), msg).ok();
}

void AddMetadata(uint32_t stages, json* events) {
  for (uint32_t s = 0; s < stages; ++s) {
    events->push_back({{"ph", "M"}, {"name", "process_name"}, {"pid", Pid(s)}, {"tid", 0},
                       {"args", {{"name", fmt::format("stage {}", s)}}}});
    events->push_back({{"ph", "M"}, {"name", "process_sort_index"}, {"pid", Pid(s)}, {"tid", 0},
                       {"args", {{"sort_index", s}}}});
    for (int lane = 0; lane < 3; ++lane) {
      const int tid = Tid(s, static_cast<ir::Lane>(lane));
      events->push_back({{"ph", "M"}, {"name", "thread_name"}, {"pid", Pid(s)}, {"tid", tid},
                         {"args", {{"name", kLaneNames[lane]}}}});
      events->push_back({{"ph", "M"}, {"name", "thread_sort_index"}, {"pid", Pid(s)},
                         {"tid", tid}, {"args", {{"sort_index", lane}}}});
    }
  }
}

json OpEvent(const ir::TraceEvent& e, bool show_chunk) {
  const ir::Lane lane = LaneOf(e);
  std::string name = fmt::format("{}{}", OpKindCode(e.kind()), e.micro_batch());
  if (show_chunk) name += fmt::format(".c{}", e.chunk());
  return {{"ph", "X"}, {"name", name}, {"cat", kLaneNames[lane]}, {"pid", Pid(e.stage())},
          {"tid", Tid(e.stage(), lane)}, {"ts", Us(e.start_ns())},
          {"dur", Us(e.end_ns() - e.start_ns())},
          {"args", {{"op_id", e.op_id()}, {"stage", e.stage()}, {"chunk", e.chunk()},
                    {"micro_batch", e.micro_batch()}, {"kind", OpKindCode(e.kind())},
                    {"lane", kLaneNames[LaneIndex(e.lane())]}, {"weight_version", e.weight_version()},
                    {"live_bytes", e.live_bytes()}, {"start_ns", e.start_ns()},
                    {"end_ns", e.end_ns()}}}};
}

// Flow arrows from each send to the receive it feeds: activations go to virtual stage v+1,
// gradients to v-1, where v = chunk * P + stage; same micro-batch.
void AddFlows(const std::vector<ir::TraceEvent>& ops, uint32_t stages, json* events) {
  using Key = std::tuple<int, uint32_t, uint32_t, uint64_t>;  // kind, stage, chunk, micro-batch
  std::map<Key, const ir::TraceEvent*> recvs;
  for (const auto& e : ops) {
    if (e.kind() == ir::RECV_ACTIVATION || e.kind() == ir::RECV_GRAD)
      recvs[{e.kind(), e.stage(), e.chunk(), e.micro_batch()}] = &e;
  }
  for (const auto& e : ops) {
    const bool act = e.kind() == ir::SEND_ACTIVATION;
    if (!act && e.kind() != ir::SEND_GRAD) continue;
    const int64_t v = static_cast<int64_t>(e.chunk()) * stages + e.stage() + (act ? 1 : -1);
    if (v < 0) continue;
    const Key key{act ? ir::RECV_ACTIVATION : ir::RECV_GRAD, static_cast<uint32_t>(v % stages),
                  static_cast<uint32_t>(v / stages), e.micro_batch()};
    auto it = recvs.find(key);
    if (it == recvs.end()) continue;
    const ir::TraceEvent& r = *it->second;
    const char* name = act ? "activation" : "gradient";
    // Midpoints bind each end to its own slice, not to a neighbour that ends where it starts.
    events->push_back({{"ph", "s"}, {"id", e.op_id()}, {"name", name}, {"cat", "p2p"},
                       {"pid", Pid(e.stage())}, {"tid", Tid(e.stage(), ir::LANE_SEND)},
                       {"ts", Us(e.start_ns() + (e.end_ns() - e.start_ns()) / 2)}});
    events->push_back({{"ph", "f"}, {"bp", "e"}, {"id", e.op_id()}, {"name", name},
                       {"cat", "p2p"}, {"pid", Pid(r.stage())}, {"tid", Tid(r.stage(), ir::LANE_RECV)},
                       {"ts", Us(r.start_ns() + (r.end_ns() - r.start_ns()) / 2)}});
  }
}

void AddCounters(const RunData& run, json* events) {
  std::vector<std::tuple<uint32_t, int64_t, uint64_t>> live;  // stage, time, bytes
  for (const auto& e : run.ops) live.emplace_back(e.stage(), e.end_ns(), e.live_bytes());
  for (const auto& s : run.memory) live.emplace_back(s.stage(), s.time_ns(), s.live_bytes());
  std::sort(live.begin(), live.end());
  for (const auto& [stage, t, bytes] : live) {
    events->push_back({{"ph", "C"}, {"name", "live memory"}, {"pid", Pid(stage)},
                       {"ts", Us(t)}, {"args", {{"bytes", bytes}}}});
  }
  for (const auto& e : run.ops) {
    if (e.weight_version() < 0 || LaneOf(e) != ir::LANE_COMPUTE) continue;
    events->push_back({{"ph", "C"}, {"name", "weight version"}, {"pid", Pid(e.stage())},
                       {"ts", Us(e.start_ns())}, {"args", {{"version", e.weight_version()}}}});
  }
}

// The run's configuration columns; unset fields are left out.
json ConfigJson(const RunConfig& c) {
  json j = json::object();
  if (!c.schedule.empty()) j["schedule"] = c.schedule;
  const std::pair<const char*, const std::optional<int64_t>*> ints[] = {
      {"stages", &c.stages}, {"accum", &c.accum}, {"microbatch_size", &c.microbatch_size},
      {"tokens_per_update", &c.tokens_per_update}, {"seed", &c.seed}};
  for (const auto& [key, v] : ints)
    if (*v) j[key] = **v;
  if (c.lr) j["lr"] = *c.lr;
  if (!c.precision.empty()) j["precision"] = c.precision;
  if (!c.device.empty()) j["device"] = c.device;
  return j;
}

json RunJson(const RunData& run) {
  const RunRecord& r = run.record;
  json j = {{"id", r.id}, {"kind", RunKindName(r.info.kind)}, {"name", r.info.name},
            {"status", RunStatusName(r.status)}, {"message", r.message},
            {"description", r.info.description}, {"host", r.info.host},
            {"code_revision", r.info.code_revision}, {"start_unix_ns", r.start_unix_ns},
            {"end_unix_ns", r.end_unix_ns ? json(*r.end_unix_ns) : json(nullptr)},
            {"spec", ProtoToJson(r.info.spec)}};
  if (r.info.schedule) j["schedule"] = ProtoToJson(*r.info.schedule);
  if (r.info.cost_model) j["cost_model"] = ProtoToJson(*r.info.cost_model);
  j["config"] = ConfigJson(r.info.config);
  return j;
}

json PaciJson(const RunData& run) {
  json updates = json::array(), memory = json::array();
  for (const auto& m : run.updates) {
    updates.push_back({m.update(), m.loss(), m.val_loss(), m.learning_rate(), m.tokens(), m.wall_ns()});
  }
  for (const auto& s : run.memory) memory.push_back({s.stage(), s.time_ns(), s.live_bytes()});
  return {{"format", kFormatVersion}, {"run", RunJson(run)}, {"metrics", run.metrics},
          {"updates_columns", {"update", "loss", "val_loss", "learning_rate", "tokens", "wall_ns"}},
          {"updates", updates}, {"memory_columns", {"stage", "time_ns", "live_bytes"}},
          {"memory", memory}};
}

uint32_t StageCount(const RunData& run) {
  uint32_t stages = run.record.info.spec.stages();
  for (const auto& e : run.ops) stages = std::max(stages, e.stage() + 1);
  for (const auto& s : run.memory) stages = std::max(stages, s.stage() + 1);
  return stages;
}

}  // namespace

std::string ExportChromeTrace(const RunData& run) {
  const uint32_t stages = StageCount(run);
  const bool show_chunk = run.record.info.spec.chunks() > 1;
  json events = json::array();
  AddMetadata(stages, &events);
  for (const auto& e : run.ops) events.push_back(OpEvent(e, show_chunk));
  AddFlows(run.ops, stages, &events);
  AddCounters(run, &events);
  // Perfetto's JSON reader stops at the first top-level key it does not know, so the run's
  // description goes under "metadata", which it knows and skips.
  json doc = {{"displayTimeUnit", "ns"}, {"metadata", {{"paci", PaciJson(run)}}},
              {"traceEvents", events}};
  return doc.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

namespace {

// Reading errors are thrown inside this file only (nlohmann throws on a wrong type anyway) and
// turned into a Status at the boundary, ImportChromeTrace.
struct ImportError {
  std::string message;
};

template <typename T>
T Get(const json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end()) throw ImportError{fmt::format("{} has no \"{}\"", where, key)};
  // nlohmann converts -3 to 2^64 - 3 and 2^40 to a truncated uint32: refuse what does not fit.
  if constexpr (std::is_integral_v<T>) {
    const bool fits = std::is_unsigned_v<T> ? it->is_number_unsigned() && it->template get<uint64_t>() <=
                                                                             std::numeric_limits<T>::max()
                                            : it->is_number_integer();
    if (!fits) throw ImportError{fmt::format("{}: \"{}\" is not a {} integer", where, key,
                                             std::is_unsigned_v<T> ? "non-negative" : "64-bit")};
  }
  return it->get<T>();
}

// Protobuf's JSON reader keeps enum numbers it does not know; refuse them, naming the field.
// (sched/schedule_io.cc does the same for schedule files; the store cannot depend on sched.)
void CheckKnownEnums(const google::protobuf::Message& m, const std::string& where) {
  const google::protobuf::Reflection* r = m.GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const google::protobuf::FieldDescriptor* f : fields) {
    const int n = f->is_repeated() ? r->FieldSize(m, f) : 1;
    for (int i = 0; i < n; ++i) {
      const std::string name = where + "." + f->name() + (f->is_repeated() ? fmt::format("[{}]", i) : "");
      if (f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_ENUM) {
        const int v = f->is_repeated() ? r->GetRepeatedEnumValue(m, f, i) : r->GetEnumValue(m, f);
        if (f->enum_type()->FindValueByNumber(v) == nullptr)
          throw ImportError{fmt::format("{}: unknown {} value {}", name, f->enum_type()->name(), v)};
      } else if (f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
        CheckKnownEnums(f->is_repeated() ? r->GetRepeatedMessage(m, f, i) : r->GetMessage(m, f), name);
      }
    }
  }
}

// Chrome's floating microseconds as integer ns; NaN, infinities and values beyond int64 ns are
// refused rather than cast (undefined behaviour).
int64_t MicrosToNs(double us, const std::string& what) {
  const double ns = std::round(us * 1000);
  if (!(std::fabs(ns) < 0x1.0p63)) throw ImportError{what + " is not a time in int64 ns"};
  return static_cast<int64_t>(ns);
}

ir::TraceEvent ReadOpEvent(const json& ev) {
  const json& args = ev.at("args");
  const std::string where = fmt::format("X event \"{}\"", ev.value("name", ""));
  ir::TraceEvent e;
  e.set_op_id(Get<uint64_t>(args, "op_id", where));
  e.set_stage(Get<uint32_t>(args, "stage", where));
  e.set_chunk(args.value("chunk", 0u));
  e.set_micro_batch(Get<uint64_t>(args, "micro_batch", where));
  auto kind = ParseOpKindCode(Get<std::string>(args, "kind", where));
  if (!kind) throw ImportError{where + " has an unknown op kind"};
  e.set_kind(*kind);
  const std::string lane = args.value("lane", "compute");
  e.set_lane(lane == "send" ? ir::LANE_SEND : lane == "recv" ? ir::LANE_RECV : ir::LANE_COMPUTE);
  // Exact nanoseconds from args; ts/dur (floating microseconds) only when they are missing.
  const int64_t start = args.contains("start_ns") ? args["start_ns"].get<int64_t>()
                                                  : MicrosToNs(ev.at("ts").get<double>(), where + " ts");
  int64_t end = 0;
  if (args.contains("end_ns")) {
    end = args["end_ns"].get<int64_t>();
  } else if (__builtin_add_overflow(start, MicrosToNs(ev.at("dur").get<double>(), where + " dur"), &end)) {
    throw ImportError{where + " ends after 2^63 ns"};
  }
  e.set_start_ns(start);
  e.set_end_ns(end);
  e.set_weight_version(args.value("weight_version", int64_t{-1}));
  e.set_live_bytes(args.value("live_bytes", uint64_t{0}));
  return e;
}

double NumberOrNaN(const json& j) {
  return j.is_number() ? j.get<double>() : std::numeric_limits<double>::quiet_NaN();
}

void ReadConfig(const json& j, RunConfig* c) {
  if (!j.is_object()) throw ImportError{"paci.run.config is not an object"};
  auto integer = [&](const char* key, std::optional<int64_t>* v) {
    if (!j.contains(key)) return;
    if (!j[key].is_number_integer()) throw ImportError{std::string("paci.run.config.") + key + " is not an integer"};
    *v = j[key].get<int64_t>();
  };
  c->schedule = j.value("schedule", "");
  integer("stages", &c->stages);
  integer("accum", &c->accum);
  integer("microbatch_size", &c->microbatch_size);
  integer("tokens_per_update", &c->tokens_per_update);
  integer("seed", &c->seed);
  if (j.contains("lr")) {
    if (!j["lr"].is_number()) throw ImportError{"paci.run.config.lr is not a number"};
    c->lr = j["lr"].get<double>();
  }
  c->precision = j.value("precision", "");
  c->device = j.value("device", "");
}

void ReadRun(const json& r, RunRecord* rec) {
  auto kind = ParseRunKind(r.value("kind", "measured"));
  auto status = ParseRunStatus(r.value("status", "complete"));
  if (!kind || !status) throw ImportError{"paci.run has an unknown kind or status"};
  rec->info.kind = *kind;
  rec->status = *status;
  rec->info.name = r.value("name", "");
  rec->message = r.value("message", "");
  rec->info.description = r.value("description", "");
  rec->info.host = r.value("host", "");
  rec->info.code_revision = r.value("code_revision", "");
  if (r.contains("config")) ReadConfig(r["config"], &rec->info.config);
  rec->start_unix_ns = r.value("start_unix_ns", int64_t{0});
  if (r.contains("end_unix_ns") && r["end_unix_ns"].is_number())
    rec->end_unix_ns = r["end_unix_ns"].get<int64_t>();
  if (r.contains("spec") && !JsonToProto(r["spec"], &rec->info.spec))
    throw ImportError{"paci.run.spec is not a PipelineSpec"};
  CheckKnownEnums(rec->info.spec, "paci.run.spec");
  if (r.contains("schedule")) {
    rec->info.schedule.emplace();
    if (!JsonToProto(r["schedule"], &*rec->info.schedule))
      throw ImportError{"paci.run.schedule is not a Schedule"};
    CheckKnownEnums(*rec->info.schedule, "paci.run.schedule");
  }
  if (r.contains("cost_model")) {
    rec->info.cost_model.emplace();
    if (!JsonToProto(r["cost_model"], &*rec->info.cost_model))
      throw ImportError{"paci.run.cost_model is not a CostModel"};
    CheckKnownEnums(*rec->info.cost_model, "paci.run.cost_model");
  }
}

void ReadPaci(const json& p, RunData* run) {
  if (p.value("format", 0) > kFormatVersion)
    throw ImportError{fmt::format("paci.format {} is newer than this paci reads ({})",
                                  p.value("format", 0), kFormatVersion)};
  if (p.contains("run")) ReadRun(p["run"], &run->record);
  for (const json& u : p.value("updates", json::array())) {
    ir::UpdateMetric& m = run->updates.emplace_back();
    m.set_update(u.at(0).get<uint64_t>());
    m.set_loss(NumberOrNaN(u.at(1)));
    m.set_val_loss(NumberOrNaN(u.at(2)));
    m.set_learning_rate(NumberOrNaN(u.at(3)));
    m.set_tokens(u.at(4).get<uint64_t>());
    m.set_wall_ns(u.at(5).get<int64_t>());
  }
  for (const json& s : p.value("memory", json::array())) {
    ir::MemorySample& m = run->memory.emplace_back();
    m.set_stage(s.at(0).get<uint32_t>());
    m.set_time_ns(s.at(1).get<int64_t>());
    m.set_live_bytes(s.at(2).get<uint64_t>());
  }
  const json metrics = p.value("metrics", json::object());
  for (const auto& [key, value] : metrics.items()) run->metrics[key] = NumberOrNaN(value);
}

}  // namespace

Result<RunData> ImportChromeTrace(std::string_view text, const std::string& source) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::InvalidArgument(fmt::format("{}: not JSON", source));
  if (!doc.is_object() || !doc.contains("traceEvents") || !doc["traceEvents"].is_array()) {
    return Status::InvalidArgument(
        fmt::format("{}: not a Chrome trace (no \"traceEvents\" array)", source));
  }
  RunData run;
  run.record.info.kind = RunKind::kMeasured;
  run.record.status = RunStatus::kComplete;
  try {
    if (doc.contains("metadata") && doc["metadata"].contains("paci"))
      ReadPaci(doc["metadata"]["paci"], &run);
    for (const json& ev : doc["traceEvents"]) {
      if (ev.value("ph", "") == "X" && ev.contains("args") && ev["args"].contains("op_id"))
        run.ops.push_back(ReadOpEvent(ev));
    }
  } catch (const ImportError& e) {
    return Status::InvalidArgument(fmt::format("{}: {}", source, e.message));
  } catch (const json::exception& e) {
    return Status::InvalidArgument(fmt::format("{}: unexpected JSON: {}", source, e.what()));
  }
  if (run.ops.empty() && run.updates.empty()) {
    return Status::InvalidArgument(
        fmt::format("{}: no paci ops (X events with args.op_id); was it written by paci export?",
                    source));
  }
  std::sort(run.ops.begin(), run.ops.end(),
            [](const ir::TraceEvent& a, const ir::TraceEvent& b) { return a.op_id() < b.op_id(); });
  run.record.op_count = static_cast<int64_t>(run.ops.size());
  PACI_RETURN_IF_ERROR(CheckRunData(run, source));
  return run;
}

}  // namespace paci::store
