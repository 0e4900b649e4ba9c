// The run record (ir::RunSetup): built in one place (study/run_record.h), stored as protobuf JSON
// and read back typed (store/run_record_json.h). The migration half: a store holding the untyped
// JSON record `paci train` wrote before the record was typed - written here by a copy of that
// writer into a raw SQL row, and the recorded stores in traces/ - is read into the same record,
// the same configuration columns and the same study identity as the typed writer gives.
#include "study/run_record.h"

#include <fmt/format.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "proto/ir_names.h"
#include "proto/run_setup.h"
#include "store/run_record_json.h"
#include "store/schema.h"
#include "store/sqlite_db.h"
#include "store/trace_store.h"

namespace paci::study {
namespace {

using google::protobuf::util::MessageDifferencer;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "paci-study-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// The untyped record as tools/pipeline_train.cc wrote it up to this change (RunSetup + Describe),
// kept verbatim as the fixture of the old format.
nlohmann::json OldRunSetup(const exec::TrainConfig& cfg, const RunChoices& f) {
  nlohmann::json j = {{"model",
                       {{"layers", cfg.model.n_layer},
                        {"dim", cfg.model.n_embd},
                        {"heads", cfg.model.n_head},
                        {"seq", cfg.model.block_size},
                        {"vocab", cfg.model.vocab_size},
                        {"tie", cfg.model.tie}}},
                      {"updates", cfg.updates},
                      {"warmup", cfg.warmup},
                      {"decay_updates", cfg.decay_updates},
                      {"min_lr_frac", cfg.min_lr_frac}};
  if (f.schedule == "pipemare") j["pipemare_lr_warmup"] = f.pipemare_lr_warmup;
  if (f.drift_lr_scale > 0) j["drift_lr_scale"] = f.drift_lr_scale;
  const exec::TrainConfig defaults;
  if (cfg.adamw.weight_decay != defaults.adamw.weight_decay) j["weight_decay"] = cfg.adamw.weight_decay;
  if (cfg.sampler != defaults.sampler)
    j["sampler"] = cfg.sampler == exec::SamplerKind::kSequential ? "sequential" : "random";
  if (cfg.eval_batches != defaults.eval_batches) j["eval_batches"] = cfg.eval_batches;
  if (!f.data_files.empty())
    j["data"] = {{"tokens", f.data_tokens}, {"fnv1a64", fmt::format("{:016x}", f.data_fingerprint)}};
  return j;
}

std::string OldDescription(const exec::TrainConfig& cfg, const RunChoices& f) {
  nlohmann::json partition = nlohmann::json::array();
  for (const exec::LayerRange& r : f.partition) partition.push_back({r.first, r.last});
  nlohmann::json j = OldRunSetup(cfg, f);
  j.update({{"microbatch_size", cfg.B},
            {"accum", cfg.accum},
            {"lr", cfg.lr},
            {"seed", cfg.seed},
            {"transport", f.transport},
            {"device", f.device},
            {"partition", partition}});
  if (f.device == "cuda") j["precision"] = f.precision.empty() ? "bf16" : f.precision;
  if (!f.resumed_from.empty()) j["resumed_from"] = f.resumed_from;
  if (!f.data_files.empty()) j["data_files"] = f.data_files;
  return j.dump();
}

// The study identity as tools/study_point.cc's PointOfRun read it from the untyped record.
std::string OldIdentity(const std::string& description) {
  const nlohmann::json d = nlohmann::json::parse(description);
  nlohmann::json setup = nlohmann::json::object();
  for (const char* key : {"model", "updates", "warmup", "decay_updates", "min_lr_frac", "pipemare_lr_warmup",
                          "drift_lr_scale", "data", "weight_decay", "sampler", "eval_batches"})
    if (auto it = d.find(key); it != d.end()) setup[key] = *it;
  return setup.dump();
}

struct Case {
  std::string name;
  exec::TrainConfig cfg;
  RunChoices choices;
};

// `paci train`'s defaults, and a run that names every optional part of the record.
std::vector<Case> Cases() {
  Case plain{"cpu_defaults", {}, {}};
  plain.choices.schedule = "1f1b-flush";
  plain.choices.partition = {{0, 2}, {2, 4}};
  Case full{"cuda_everything", {}, {}};
  exec::TrainConfig& c = full.cfg;
  c.model.n_layer = 6;
  c.model.n_embd = 128;
  c.model.n_head = 8;
  c.model.block_size = 64;
  c.model.vocab_size = 512;
  c.model.tie = true;
  c.B = 8;
  c.accum = 4;
  c.updates = 300;
  c.decay_updates = 250;
  c.warmup = 7;
  c.min_lr_frac = 0.05f;
  c.lr = 3e-4f;
  c.seed = 42;
  c.adamw.weight_decay = 0.01f;
  c.sampler = exec::SamplerKind::kSequential;
  c.eval_batches = 5;
  RunChoices& f = full.choices;
  f.schedule = "pipemare";
  f.transport = "nccl";
  f.device = "cuda";
  f.precision = "fp32";
  f.partition = {{0, 3}, {3, 5}, {5, 8}};
  f.resumed_from = "ckpt.bin";
  f.data_files = {"a.txt", "b.txt"};
  f.data_tokens = 123456;
  f.data_fingerprint = 0x00c0ffee12345678ULL;
  f.pipemare_lr_warmup = 40;
  f.drift_lr_scale = 0.5;
  Case bf16{"cuda_default_bf16", {}, {}};
  bf16.choices.schedule = "paci";
  bf16.choices.device = "cuda";
  return {plain, full, bf16};
}

TEST(RunRecord, BuildsEveryField) {
  const Case full = Cases()[1];
  Result<ir::RunSetup> s = BuildRunSetup(full.cfg, full.choices);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->record_version(), 1u);
  EXPECT_EQ(s->model().layers(), 6u);
  EXPECT_TRUE(s->model().tie());
  EXPECT_EQ(s->tokens_per_update(), 8u * 64 * 4);
  EXPECT_EQ(s->precision(), ir::PRECISION_FP32);
  EXPECT_EQ(s->partition_size(), 3);
  EXPECT_EQ(s->partition(2).last(), 8u);
  EXPECT_EQ(s->pipemare_lr_warmup(), 40);
  EXPECT_EQ(s->sampler(), "sequential");
  EXPECT_EQ(s->data().fnv1a64(), 0x00c0ffee12345678ULL);
  // The defaults are named nowhere: a run recorded before a knob existed keeps its identity.
  const Case plain = Cases()[0];
  Result<ir::RunSetup> d = BuildRunSetup(plain.cfg, plain.choices);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->has_weight_decay() || d->has_sampler() || d->has_eval_batches() ||
               d->has_pipemare_lr_warmup() || d->has_drift_lr_scale() || d->has_data());
  EXPECT_EQ(d->precision(), ir::PRECISION_FP32);
  EXPECT_EQ(BuildRunSetup(Cases()[2].cfg, Cases()[2].choices)->precision(), ir::PRECISION_BF16);
}

// Issue 25: a study re-run with --grad-clip or --chunks skipped points it never trained. Both are
// part of the identity where they are not the default, and only there (older identities stand).
TEST(RunRecord, GradClipAndChunksArePartOfTheIdentityWhenNotTheDefault) {
  const Case plain = Cases()[0];
  const std::string base = SetupIdentity(*BuildRunSetup(plain.cfg, plain.choices));
  RunChoices c = plain.choices;
  c.chunks = 1;  // 1f1b-flush's only V
  EXPECT_EQ(SetupIdentity(*BuildRunSetup(plain.cfg, c)), base);
  c.grad_clip = 1.0f;
  const std::string clipped = SetupIdentity(*BuildRunSetup(plain.cfg, c));
  EXPECT_NE(clipped, base);
  EXPECT_NE(clipped.find("\"grad_clip\":1"), std::string::npos) << clipped;
  RunChoices v = plain.choices;
  v.schedule = "interleaved-1f1b";
  const std::string v_default = SetupIdentity(*BuildRunSetup(plain.cfg, v));
  v.chunks = 2;  // its default
  EXPECT_EQ(SetupIdentity(*BuildRunSetup(plain.cfg, v)), v_default);
  v.chunks = 4;
  EXPECT_NE(SetupIdentity(*BuildRunSetup(plain.cfg, v)).find("\"chunks\":4"), std::string::npos);
}

TEST(RunRecord, TokensPerUpdateRefusesOverflow) {
  EXPECT_EQ(TokensPerUpdate(8, 64, 4), 2048);
  EXPECT_FALSE(TokensPerUpdate(int64_t{1} << 40, int64_t{1} << 20, 1 << 10).has_value());
  exec::TrainConfig cfg;
  cfg.B = 1 << 30;
  cfg.model.block_size = 1 << 30;
  cfg.accum = 1 << 30;
  Result<ir::RunSetup> s = BuildRunSetup(cfg, {});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("--accum"), std::string::npos);
}

TEST(RunRecord, PrecisionNamesRoundTrip) {
  for (ir::Precision p : {ir::PRECISION_FP32, ir::PRECISION_BF16})
    EXPECT_EQ(ParsePrecisionName(PrecisionName(p)), p);
  EXPECT_FALSE(ParsePrecisionName("fp16").has_value());
  EXPECT_EQ(PrecisionElementBytes(ir::PRECISION_BF16), 2u);
  EXPECT_EQ(PrecisionElementBytes(ir::PRECISION_FP32), 4u);
  EXPECT_EQ(RunPrecision("cpu", ""), ir::PRECISION_FP32);
  EXPECT_EQ(RunPrecision("cuda", ""), ir::PRECISION_BF16);
  EXPECT_EQ(RunPrecision("cuda", "fp32"), ir::PRECISION_FP32);
}

TEST(RunRecord, TypedRecordRoundTripsThroughTheDescription) {
  for (const Case& c : Cases()) {
    Result<ir::RunSetup> s = BuildRunSetup(c.cfg, c.choices);
    ASSERT_TRUE(s.ok());
    const std::string text = store::RunSetupToDescription(*s);
    std::optional<ir::RunSetup> back = store::RunSetupFromDescription(text);
    ASSERT_TRUE(back.has_value()) << text;
    EXPECT_TRUE(MessageDifferencer::Equals(*back, *s)) << c.name << "\n" << text;
  }
  EXPECT_FALSE(store::RunSetupFromDescription("sweep point: metrics only").has_value());
  EXPECT_FALSE(store::RunSetupFromDescription("{\"record_version\": \"x\"}").has_value());
}

// The untyped record read into the message equals the typed record of the same run, field by
// field (record_version aside: 0 says it was converted), and gives the same study identity.
TEST(RunRecordMigration, UntypedRecordReadsAsTheTypedOne) {
  for (const Case& c : Cases()) {
    Result<ir::RunSetup> typed = BuildRunSetup(c.cfg, c.choices);
    ASSERT_TRUE(typed.ok());
    const std::string old = OldDescription(c.cfg, c.choices);
    std::optional<ir::RunSetup> read = store::RunSetupFromDescription(old);
    ASSERT_TRUE(read.has_value()) << old;
    EXPECT_EQ(read->record_version(), 0u);
    read->set_record_version(typed->record_version());
    EXPECT_TRUE(MessageDifferencer::Equals(*read, *typed))
        << c.name << "\nold:   " << old << "\nread:  " << read->ShortDebugString()
        << "\ntyped: " << typed->ShortDebugString();
    EXPECT_EQ(SetupIdentity(*read), OldIdentity(old)) << c.name;
    EXPECT_EQ(SetupIdentity(*typed), OldIdentity(old)) << c.name;
  }
}

// A store row written as the current code wrote it - raw SQL, untyped description, the columns
// MakeRunInfo filled - opens with the typed record, and a run written through the typed writer
// reads back the same record and the same columns.
TEST(RunRecordMigration, OldStoreRowReadsLikeATypedRun) {
  TempDir dir;
  const std::string path = dir.File("old.db");
  for (const Case& c : Cases()) {
    const std::string old = OldDescription(c.cfg, c.choices);
    Result<ir::RunSetup> typed = BuildRunSetup(c.cfg, c.choices);
    ASSERT_TRUE(typed.ok());
    {
      auto db = store::SqliteDb::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
      ASSERT_TRUE(db.ok());
      ASSERT_TRUE(store::MigrateToCurrent(*db).ok());
      auto insert = store::SqliteStmt::Prepare(
          *db,
          "INSERT INTO runs (kind, name, description, status, schedule_name, stages, accum, microbatch_size, "
          "tokens_per_update, lr, seed, precision, device) VALUES ('measured', 'old', ?1, 'complete', ?2, 2, "
          "?3, ?4, ?5, ?6, ?7, ?8, ?9)");
      ASSERT_TRUE(insert.ok()) << insert.status().ToString();
      const std::string precision = c.choices.device == "cuda" && c.choices.precision.empty() ? "bf16"
                                    : c.choices.device == "cuda" ? c.choices.precision
                                                                 : "fp32";
      insert->BindText(1, old)
          .BindText(2, c.choices.schedule)
          .Bind(3, c.cfg.accum)
          .Bind(4, c.cfg.B)
          .Bind(5, *TokensPerUpdate(c.cfg.B, c.cfg.model.block_size, c.cfg.accum))
          .BindDouble(6, c.cfg.lr)
          .Bind(7, static_cast<int64_t>(c.cfg.seed))
          .BindText(8, precision)
          .BindText(9, c.choices.device);
      ASSERT_TRUE(insert->Run().ok());
    }
    auto store = store::TraceStore::Open(path, store::OpenOptions{.create_if_missing = false});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store::RunInfo info;
    info.kind = store::RunKind::kMeasured;
    info.setup = *typed;
    info.config.schedule = c.choices.schedule;
    info.config.stages = 2;
    info.config.accum = typed->accum();
    info.config.microbatch_size = typed->microbatch_size();
    info.config.tokens_per_update = static_cast<int64_t>(typed->tokens_per_update());
    info.config.lr = typed->lr();
    info.config.seed = static_cast<int64_t>(typed->seed());
    info.config.precision = PrecisionName(typed->precision());
    info.config.device = typed->device();
    auto writer = store->BeginRun(info);
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    ASSERT_TRUE(writer->Finish(store::RunStatus::kComplete).ok());
    auto runs = store->ListRuns();
    ASSERT_TRUE(runs.ok());
    const store::RunRecord& was = (*runs)[runs->size() - 2];
    const store::RunRecord& now = runs->back();
    EXPECT_EQ(was.info.description, old) << "the old row is never rewritten";
    ASSERT_TRUE(was.info.setup && now.info.setup) << c.name;
    ir::RunSetup converted = *was.info.setup;
    converted.set_record_version(now.info.setup->record_version());
    EXPECT_TRUE(MessageDifferencer::Equals(converted, *now.info.setup)) << c.name;
    EXPECT_EQ(was.info.config.tokens_per_update, now.info.config.tokens_per_update);
    EXPECT_EQ(was.info.config.precision, now.info.config.precision) << c.name;
    EXPECT_EQ(was.info.config.lr, now.info.config.lr);
    EXPECT_EQ(SetupIdentity(*was.info.setup), SetupIdentity(*now.info.setup));
  }
}

// The recorded stores (schema version 2, the oldest untyped record: no tie, no lr shape beyond
// warm-up) migrate and read as the record they hold.
TEST(RunRecordMigration, RecordedTracesReadTyped) {
  for (const std::string name : {"paci-vs-flush-p2.db", "flush-baselines-p2.db"}) {
    TempDir dir;
    const std::string path = dir.File(name);
    std::filesystem::copy_file(std::string(PACI_TRACES_DIR) + "/" + name, path);
    auto store = store::TraceStore::Open(path, store::OpenOptions{.create_if_missing = false});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto runs = store->ListRuns();
    ASSERT_TRUE(runs.ok());
    ASSERT_FALSE(runs->empty());
    for (const store::RunRecord& r : *runs) {
      ASSERT_TRUE(r.info.setup.has_value()) << name << " run " << r.id;
      const ir::RunSetup& s = *r.info.setup;
      EXPECT_EQ(s.record_version(), 0u);
      EXPECT_EQ(s.model().layers(), 4u);
      EXPECT_EQ(s.model().dim(), 64u);
      EXPECT_EQ(s.model().heads(), 4u);
      EXPECT_EQ(s.model().seq(), 64u);
      EXPECT_EQ(s.model().vocab(), 256u);
      EXPECT_EQ(s.microbatch_size(), 8u);
      EXPECT_EQ(s.accum(), 4u);
      EXPECT_EQ(s.tokens_per_update(), 8u * 64 * 4);
      EXPECT_EQ(static_cast<int64_t>(s.tokens_per_update()), r.info.config.tokens_per_update);
      EXPECT_FLOAT_EQ(static_cast<float>(s.lr()), 1e-3f);
      EXPECT_EQ(s.seed(), 1337u);
      EXPECT_TRUE(s.has_updates() && s.has_warmup() && !s.has_decay_updates() && !s.has_min_lr_frac());
      EXPECT_EQ(s.warmup(), 20);
      EXPECT_EQ(s.transport(), "threads");
      EXPECT_EQ(s.precision(), ir::PRECISION_FP32);
      EXPECT_EQ(s.partition_size(), 0);
    }
  }
}

}  // namespace
}  // namespace paci::study
