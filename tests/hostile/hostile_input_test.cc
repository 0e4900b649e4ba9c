// Hostile input at each library boundary: every case here crashed, hung, allocated without bound
// or was silently accepted before its check existed (issue 14). Each asserts a clean refusal
// that names the field or limit at fault.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "exec/model/safetensors.h"
#include "exec/model/train.h"
#include "exec/runtime/pipeline_trainer.h"
#include "sched/bounded_file.h"
#include "sched/checked_math.h"
#include "sched/ir_version.h"
#include "sched/layer_partition.h"
#include "sched/limits.h"
#include "sched/pipeline_spec.h"
#include "sched/schedule_generator.h"
#include "sched/schedule_io.h"
#include "sched/schedule_validator.h"
#include "sim/model_cost.h"
#include "sim/profile_file.h"
#include "sim/simulator.h"
#include "sim/stage_cost_model.h"
#include "store/chrome_trace.h"
#include "store/trace_store.h"
#include "tests/runtime/tiny_setup.h"
#include "tests/store/store_test_util.h"

namespace paci {
namespace {

constexpr uint32_t kStageMax = std::numeric_limits<uint32_t>::max();

ir::PipelineSpec Spec(ir::ScheduleKind kind, uint32_t P, uint32_t M, uint64_t N = 0) {
  ir::PipelineSpec s;
  s.set_kind(kind);
  s.set_stages(P);
  s.set_microbatches_per_iteration(M);
  s.set_total_microbatches(N);
  return s;
}

ir::Schedule Generated(ir::ScheduleKind kind, uint32_t P, uint32_t M) {
  Result<ir::Schedule> s = GenerateSchedule(Spec(kind, P, M));
  EXPECT_TRUE(s.ok()) << s.status().message();
  return *s;
}

ir::CostModel Uniform(double fwd_ms, double jitter = 0);

bool Mentions(const Status& st, const std::string& what) {
  return st.message().find(what) != std::string::npos;
}

// --- schedules ---------------------------------------------------------------------------------

TEST(HostileSchedule, ValidatorRefusesTotalOfTwoToTheSixtyFour) {  // was: N+1 wrapped, SIGSEGV
  ir::Schedule s;
  s.set_ir_version(kIrVersion);
  s.mutable_spec()->set_stages(1);
  s.mutable_spec()->set_total_microbatches(std::numeric_limits<uint64_t>::max());
  ir::StageStream* stream = s.add_streams();
  stream->set_weight_policy(ir::SYNC_AFTER_FLUSH);
  ir::Op* op = stream->add_prefix();
  op->set_kind(ir::FORWARD);
  op->set_micro_batch(1);
  const Status st = ValidateSchedule(s);
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(Mentions(st, "total_microbatches")) << st.message();
}

// Found by fuzz_schedule_text: two hand-written stages naming micro-batch 10^9 made the validator
// allocate its 2 GB table of (stage, micro-batch) bits before finding the ops missing.
TEST(HostileSchedule, FewOpsClaimingManyMicroBatchesAreRefusedBeforeAllocation) {
  ir::Schedule s;
  s.set_ir_version(kIrVersion);
  s.mutable_spec()->set_stages(2);
  s.mutable_spec()->set_total_microbatches(1000000000);
  for (uint32_t stage = 0; stage < 2; ++stage) {
    ir::StageStream* stream = s.add_streams();
    stream->set_stage(stage);
    stream->set_weight_policy(ir::SYNC_AFTER_FLUSH);
    ir::Op* op = stream->add_prefix();
    op->set_stage(stage);
    op->set_kind(ir::FORWARD);
    op->set_micro_batch(999999999);
  }
  const Status st = ValidateSchedule(s);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(Mentions(st, "op-count")) << st.message();
  EXPECT_TRUE(Mentions(st, "stage 0")) << st.message();
}

TEST(HostileSchedule, WorkBeyondTheLimitIsRefusedBeforeAllocation) {  // was: 7.6 GB in 15 s
  Result<ir::PipelineSpec> spec = NormalizeSpec(Spec(ir::GPIPE, 1, 100000000));
  ASSERT_FALSE(spec.ok());
  EXPECT_TRUE(Mentions(spec.status(), "kMaxStageMicroBatches")) << spec.status().message();
  EXPECT_TRUE(Mentions(spec.status(), "sched/limits.h"));
  ir::PipelineSpec async = Spec(ir::PACI, 8, 0);
  async.set_accum(kMaxStageMicroBatches / 4);  // the repeated body holds K micro-batches per stage
  EXPECT_FALSE(GenerateSchedule(async).ok());
  async.set_accum(kMaxStageMicroBatches / 8);
  EXPECT_TRUE(NormalizeSpec(async).ok());
  // A long run repeats a compact body: generating it is cheap, playing it op by op is bounded.
  Result<ir::Schedule> s = GenerateSchedule(Spec(ir::PACI, 8, 0, kMaxPlayedStageMicroBatches));
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_TRUE(Mentions(ValidateSchedule(*s), "kMaxPlayedStageMicroBatches"));
  Result<sim::SimulationResult> r = sim::Simulate(*s, Uniform(1));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Mentions(r.status(), "kMaxPlayedStageMicroBatches"));
  EXPECT_FALSE(NormalizeSpec(Spec(ir::PACI, kMaxStages + 1, 0)).ok());
}

TEST(HostileSchedule, JsonWithAnUnknownOpKindIsRefused) {  // was: accepted (text refused it)
  nlohmann::json j = nlohmann::json::parse(*ScheduleToJson(Generated(ir::GPIPE, 2, 2)));
  j["streams"][0]["prefix"][0]["kind"] = 99;
  Result<ir::Schedule> s = ScheduleFromJson(j.dump(), "bad.json");
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(Mentions(s.status(), "streams[0].prefix[0].kind")) << s.status().message();
  EXPECT_TRUE(Mentions(s.status(), "bad.json"));
}

TEST(HostileSchedule, BinaryWithUnknownEnumsIsRefused) {
  ir::Schedule g = Generated(ir::GPIPE, 2, 2);
  g.mutable_streams(1)->set_weight_policy(static_cast<ir::WeightPolicy>(77));
  Result<ir::Schedule> s = ScheduleFromBinary(ScheduleToBinary(g), "bad.pb");
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(Mentions(s.status(), "streams[1].weight_policy")) << s.status().message();
  g = Generated(ir::GPIPE, 2, 2);
  g.mutable_spec()->set_kind(static_cast<ir::ScheduleKind>(1000));
  EXPECT_FALSE(ScheduleFromBinary(ScheduleToBinary(g), "bad.pb").ok());
}

// --- simulator and cost model ------------------------------------------------------------------

ir::CostModel Uniform(double fwd_ms, double jitter) {
  sim::UniformCost u;
  u.fwd_ms = fwd_ms;
  u.bwd_ms = fwd_ms;
  u.jitter_cv = jitter;
  return sim::MakeCostModel(u);
}

TEST(HostileSim, HugeJitterIsRefusedNotMakespanZero) {
  Result<sim::SimulationResult> r = sim::Simulate(Generated(ir::GPIPE, 2, 4), Uniform(1, 1e10));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Mentions(r.status(), "jitter.cv")) << r.status().message();
  EXPECT_TRUE(sim::Simulate(Generated(ir::GPIPE, 2, 4), Uniform(1, sim::kMaxJitterCv)).ok());
}

TEST(HostileSim, OpTimesBeyondTheLimitAreRefused) {
  ir::CostModel cost = Uniform(1);
  cost.mutable_stages(0)->set_forward_ns(int64_t{1} << 62);
  Result<sim::SimulationResult> r = sim::Simulate(Generated(ir::GPIPE, 2, 4), cost);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Mentions(r.status(), "kMaxOpNs")) << r.status().message();
  cost = Uniform(1);
  cost.add_links()->set_bandwidth_bytes_per_s(1e-300);
  cost.mutable_stages(0)->set_message_bytes(1 << 20);
  EXPECT_FALSE(sim::Simulate(Generated(ir::GPIPE, 2, 4), cost).ok());  // was: inf cast to int64
}

TEST(HostileSim, TimeBeyondInt64IsAnErrorNotAWrap) {  // was: signed overflow (UBSan)
  ir::CostModel cost = Uniform(1);
  cost.mutable_stages(0)->set_forward_ns(kMaxOpNs);
  cost.mutable_stages(0)->set_backward_input_ns(kMaxOpNs);
  Result<sim::SimulationResult> r = sim::Simulate(Generated(ir::GPIPE, 1, 8192), cost);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(Mentions(r.status(), "2^63")) << r.status().message();
}

TEST(HostileSim, FlagConversionsSaturate) {  // was: undefined float-to-int casts
  EXPECT_EQ(sim::MsToNs(1e300), INT64_MAX);
  EXPECT_EQ(sim::MsToNs(std::nan("")), INT64_MAX);
  EXPECT_EQ(sim::MsToNs(-1e300), INT64_MIN);
  EXPECT_EQ(sim::MbToBytes(INFINITY), UINT64_MAX);
  EXPECT_EQ(sim::MsToNs(1.5), 1500000);
}

// --- store -------------------------------------------------------------------------------------

store::RunData SmallRun() {
  store::RunData run;
  run.record.info.kind = store::RunKind::kMeasured;
  run.record.info.spec = Spec(ir::GPIPE, 2, 2, 2);
  run.record.status = store::RunStatus::kComplete;
  for (uint32_t s = 0; s < 2; ++s) {
    ir::TraceEvent& e = run.ops.emplace_back();
    e.set_op_id(s + 1);
    e.set_stage(s);
    e.set_kind(ir::FORWARD);
    e.set_micro_batch(1);
    e.set_start_ns(100 * s);
    e.set_end_ns(100 * s + 50);
  }
  return run;
}

TEST(HostileStore, ChromeImportRefusesAStageOfTwoToTheThirtyTwo) {  // was: runs show/compare crashed
  nlohmann::json doc = nlohmann::json::parse(store::ExportChromeTrace(SmallRun()));
  for (auto& ev : doc["traceEvents"])
    if (ev.value("ph", "") == "X" && ev["args"].contains("op_id")) ev["args"]["stage"] = kStageMax;
  Result<store::RunData> run = store::ImportChromeTrace(doc.dump(), "t.json");
  ASSERT_FALSE(run.ok());
  EXPECT_TRUE(Mentions(run.status(), "stage 4294967295")) << run.status().message();
}

TEST(HostileStore, LoadRunRefusesAHandEditedStage) {
  store::testing::TempDir dir;
  const std::string path = dir.File("s.db");
  Result<store::TraceStore> db = store::TraceStore::Open(path);
  ASSERT_TRUE(db.ok());
  Result<int64_t> id = db->ImportRun(SmallRun());
  ASSERT_TRUE(id.ok()) << id.status().message();
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "UPDATE ops SET stage = 4294967295", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(raw);
  Result<store::RunData> run = db->LoadRun(*id);
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().code(), Status::Code::kCorruption);
}

TEST(HostileStore, ImportRunRefusesBeforeWriting) {  // was: a run left behind
  store::testing::TempDir dir;
  Result<store::TraceStore> db = store::TraceStore::Open(dir.File("s.db"));
  ASSERT_TRUE(db.ok());
  store::RunData bad = SmallRun();
  bad.ops[1].set_stage(2);  // the spec has 2 stages
  EXPECT_FALSE(db->ImportRun(bad).ok());
  bad = SmallRun();
  bad.ops[0].set_end_ns(-5);
  EXPECT_FALSE(db->ImportRun(bad).ok());
  EXPECT_TRUE(db->ListRuns()->empty());
}

// --- checkpoints and training ------------------------------------------------------------------

std::string SafetensorsBytes(const std::string& header) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return bytes + header;
}

TEST(HostileCheckpoint, SafetensorsHeaderOddities) {  // was: nlohmann exception -> abort
  EXPECT_FALSE(exec::safetensors_parse(SafetensorsBytes(R"({"__metadata__": 5})"), "m.st").ok());
  EXPECT_FALSE(exec::safetensors_parse(SafetensorsBytes(R"({"__metadata__": [1, 2]})"), "m.st").ok());
  EXPECT_FALSE(
      exec::safetensors_parse(
          SafetensorsBytes(R"({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}})"), "m.st")
          .ok());
  std::string huge_length = SafetensorsBytes("{}");
  huge_length[7] = '\x7f';
  EXPECT_FALSE(exec::safetensors_parse(huge_length, "m.st").ok());
  EXPECT_TRUE(exec::safetensors_parse(SafetensorsBytes(R"({"__metadata__": {"a": "b"}})"), "m.st").ok());
}

TEST(HostileTrain, NonFiniteAndHugeNumbersAreRefused) {  // was: --lr inf trained to NaN, exit 0
  exec::TrainConfig c = exec::testing::TinyTrainConfig();
  EXPECT_TRUE(exec::train_config_check(c).ok());
  c.lr = INFINITY;
  EXPECT_TRUE(Mentions(exec::train_config_check(c), "--lr"));
  c = exec::testing::TinyTrainConfig();
  c.min_lr_frac = std::nanf("");
  EXPECT_FALSE(exec::train_config_check(c).ok());
  c = exec::testing::TinyTrainConfig();
  c.model.n_embd = 1 << 20;
  c.model.n_head = 1;
  EXPECT_TRUE(Mentions(exec::train_config_check(c), "kMaxTrainFloats"));
}

TEST(HostileTrain, PipelinedPathChecksWhatUnpipelinedChecks) {
  exec::PipelineConfig pc;
  pc.train = exec::testing::TinyTrainConfig();
  pc.train.B = 0;
  const ir::Schedule schedule = Generated(ir::GPIPE, 2, 2);
  EXPECT_FALSE(exec::PlanPipeline(schedule, pc).ok());  // was: accepted
  pc.train = exec::testing::TinyTrainConfig();
  exec::DataSplit tiny;
  tiny.train.assign(5, 'a');  // shorter than one window of block_size + 1 tokens
  tiny.val.assign(5, 'a');
  Result<exec::PipelineResult> r = exec::TrainPipelineThreads(schedule, pc, tiny, nullptr);
  ASSERT_FALSE(r.ok());  // was: read past the data
  EXPECT_TRUE(Mentions(r.status(), "training split")) << r.status().message();
}

// --- profiles ----------------------------------------------------------------------------------

ir::Profile ValidProfile() {
  ir::Profile p;
  p.set_version(sim::kProfileVersion);
  ir::ModelShape& m = *p.mutable_model();
  m.set_layers(1);
  m.set_dim(8);
  m.set_heads(2);
  m.set_seq(4);
  m.set_vocab(256);
  p.set_microbatch_size(1);
  p.set_precision("fp32");
  for (int i = 0; i < 3; ++i) {
    ir::LayerProfile& l = *p.add_layers();
    l.set_index(i);
    l.set_kind(i == 0 ? "embedding" : i == 1 ? "block" : "head");
    l.set_forward_ns(1e5);
    l.set_message_bytes(128);
    l.set_repetitions(5);
  }
  ir::ColocationFactor& c = *p.add_colocation();
  c.set_stages(2);
  c.set_slowdown(1.5);
  return p;
}

// Each was accepted: a co-location count of 2^32-1 made ShareOneDevice append ~4e9 slowdowns;
// a time of 1e30 ns or a size of 2^63 bytes overflowed the stage sums; a model of 2^31-1 blocks
// overflowed NumLayers (UBSan) and a dim of 2^31 the byte counts of LayerWorkOf.
TEST(HostileProfile, CountsTimesAndSizesBeyondTheLimitsAreRefused) {
  ASSERT_TRUE(sim::ValidateProfile(ValidProfile(), "p.json").ok());
  std::vector<std::pair<std::string, ir::Profile>> cases;
  auto add = [&](const std::string& field, auto damage) {
    ir::Profile p = ValidProfile();
    damage(p);
    cases.emplace_back(field, p);
  };
  add("colocation[0].stages", [](ir::Profile& p) { p.mutable_colocation(0)->set_stages(kStageMax); });
  add("layers[1].forward_ns", [](ir::Profile& p) { p.mutable_layers(1)->set_forward_ns(1e30); });
  add("layers[2].optimizer_ns",
      [](ir::Profile& p) { p.mutable_layers(2)->set_optimizer_ns(2.0 * kMaxOpNs); });
  add("layers[0].weight_bytes",
      [](ir::Profile& p) { p.mutable_layers(0)->set_weight_bytes(uint64_t{1} << 63); });
  add("model.layers", [](ir::Profile& p) { p.mutable_model()->set_layers(2147483647); });
  // Issue 25: a slowdown of 1e15 overflowed the slowed op's end into a shorter makespan; a second
  // entry for one stage count was silently one of two.
  add("colocation[0].slowdown", [](ir::Profile& p) { p.mutable_colocation(0)->set_slowdown(1e15); });
  add("colocation[1].stages", [](ir::Profile& p) { *p.add_colocation() = p.colocation(0); });
  // Issue 25: a mean of no samples was accepted as a time.
  add("layers[1].repetitions", [](ir::Profile& p) { p.mutable_layers(1)->set_repetitions(0); });
  add("too large", [](ir::Profile& p) {
    p.mutable_model()->set_dim(1u << 31);
    p.mutable_model()->set_heads(1);
  });
  for (const auto& [field, p] : cases) {
    const Status st = sim::ValidateProfile(p, "p.json");
    EXPECT_FALSE(st.ok()) << field;
    EXPECT_TRUE(Mentions(st, field)) << field << ": " << st.message();
  }
}

TEST(HostileProfile, ModelSizeIsCheckedForFlagsToo) {
  ir::ModelShape m = ValidProfile().model();
  EXPECT_TRUE(sim::CheckModelSize(m, 8).ok());
  m.set_seq(1u << 24);  // a block's attention scores: 9 a T^2 b bytes
  EXPECT_TRUE(Mentions(sim::CheckModelSize(m, 8), "kMaxBytes"));
}

// Issue 25: the one arithmetic rule and the bounded reads the newer surfaces rely on.
TEST(HostileArithmetic, ProductsOfUserNumbersAreChecked) {  // was: micro-batches x updates wrapped
  EXPECT_FALSE(CheckedMul<uint64_t>(uint64_t{1} << 63, 2).has_value());
  EXPECT_EQ(CheckedMul<int64_t>(4096, 1024), 4194304);
  EXPECT_FALSE(CheckedMul<int>(1073741824, 4).has_value());  // study --jobs 2^30 x --stages 4
  EXPECT_FALSE(CheckedAdd<uint32_t>(kStageMax, 1).has_value());
  const Result<uint64_t> grid = CheckedProduct({2, 1, 1, 4294967295u}, 100000, "--seeds", "kMaxStudyPoints");
  ASSERT_FALSE(grid.ok());
  EXPECT_TRUE(Mentions(grid.status(), "kMaxStudyPoints"));
  EXPECT_EQ(*CheckedProduct({2, 3, 4}, 24, "x", "L"), 24u);
  for (double bad : {std::nan(""), HUGE_VAL, -1.0, 0.0, 1e308})
    EXPECT_TRUE(Mentions(CheckRange(bad, 0, 3600, "--colocate-seconds", true), "--colocate-seconds")) << bad;
  EXPECT_TRUE(CheckRange(3600, 0, 3600, "x", true).ok());
}

TEST(HostileFiles, NonRegularAndOversizedFilesAreNotRead) {  // was: /dev/zero read until out of memory
  const Result<std::string> zero = ReadBoundedFile("/dev/zero", kMaxInputFileBytes, "kMaxInputFileBytes");
  ASSERT_FALSE(zero.ok());
  EXPECT_TRUE(Mentions(zero.status(), "not a regular file"));
  store::testing::TempDir dir;
  store::testing::WriteBytes(dir.File("f"), std::string(100, 'x'));
  const Result<std::string> big = ReadBoundedFile(dir.File("f"), 99, "kLimit");
  ASSERT_FALSE(big.ok());
  EXPECT_TRUE(Mentions(big.status(), "kLimit"));
  EXPECT_EQ(ReadBoundedFile(dir.File("f"), 100, "kLimit")->size(), 100u);
  EXPECT_EQ(ReadBoundedFile(dir.File("missing"), 100, "kLimit").status().code(), Status::Code::kNotFound);
}

TEST(HostileModelCost, PartitionerWorkIsBoundedBeforeAllocating) {  // was: O(P L^2), minutes to days
  std::vector<LayerLoad> layers(1u << 20);                          // kMaxModelLayers blocks
  const Result<std::vector<LayerSlice>> split = PartitionLayers(layers, 2, {}, 0);
  ASSERT_FALSE(split.ok());
  EXPECT_TRUE(Mentions(split.status(), "kMaxPartitionSteps"));
  layers.resize(1000);
  EXPECT_TRUE(PartitionLayers(layers, 8, {}, 0).ok());
}

}  // namespace
}  // namespace paci
