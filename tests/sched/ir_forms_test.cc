// The IR survives every external form: binary protobuf, JSON, the text form (explicit and compact)
// and PyTorch's CSV (compute_only and compute_comms), in memory and through files; bad input is
// reported with the file (and line) at fault.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "sched/comm_lowering.h"
#include "sched/expanded_schedule.h"
#include "sched/op_messages.h"
#include "sched/pipeline_spec.h"
#include "sched/schedule_csv.h"
#include "sched/schedule_io.h"
#include "sched/schedule_text.h"
#include "sched/schedule_validator.h"
#include "sched_test_util.h"

namespace paci {
namespace {

using google::protobuf::util::MessageDifferencer;
using testing::Gen;
using testing::Generate;

std::vector<ir::Schedule> Samples() {
  return {Generate({.kind = ir::GPIPE, .P = 3, .M = 4}),
          Generate({.kind = ir::ONE_F_ONE_B_FLUSH, .P = 4, .M = 8, .N = 16}),
          Generate({.kind = ir::INTERLEAVED_1F1B, .P = 2, .M = 4, .V = 2}),
          Generate({.kind = ir::ZB_H1, .P = 4, .M = 6}),
          Generate({.kind = ir::PIPEDREAM, .P = 4}),
          Generate({.kind = ir::PIPEDREAM_2BW, .P = 3, .K = 4}),
          Generate({.kind = ir::PIPEMARE, .P = 4, .K = 2}),
          Generate({.kind = ir::PACI, .P = 5, .K = 3, .N = 37, .window = {5, 4, 3, 2, 2}})};
}

std::string Name(const ir::Schedule& s) { return ScheduleName(s.spec().kind()); }

TEST(IrForms, BinaryRoundTrip) {
  for (const ir::Schedule& s : Samples()) {
    Result<ir::Schedule> back = ScheduleFromBinary(ScheduleToBinary(s));
    ASSERT_TRUE(back.ok());
    EXPECT_TRUE(MessageDifferencer::Equals(s, *back)) << Name(s);
  }
}

TEST(IrForms, JsonRoundTrip) {
  for (const ir::Schedule& s : Samples()) {
    Result<std::string> json = ScheduleToJson(s);
    ASSERT_TRUE(json.ok());
    EXPECT_NE(json->find("\"body_repeats\""), std::string::npos);  // proto field names
    Result<ir::Schedule> back = ScheduleFromJson(*json);
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_TRUE(MessageDifferencer::Equals(s, *back)) << Name(s);
  }
}

// A file written before every spec carried chunks (0) reads with the chunks its ops use, in
// every form, so nothing past reading sees chunks 0.
TEST(IrForms, OldFilesWithChunksZeroAreNormalizedOnReading) {
  for (const ir::Schedule& s : Samples()) {
    ir::Schedule old = s;
    old.mutable_spec()->set_chunks(0);
    Result<std::string> json = ScheduleToJson(old);
    ASSERT_TRUE(json.ok());
    Result<ir::Schedule> from_json = ScheduleFromJson(*json);
    Result<ir::Schedule> from_binary = ScheduleFromBinary(ScheduleToBinary(old));
    ASSERT_TRUE(from_json.ok() && from_binary.ok()) << Name(s);
    EXPECT_EQ(from_json->spec().chunks(), s.spec().chunks()) << Name(s);
    EXPECT_TRUE(MessageDifferencer::Equals(s, *from_binary)) << Name(s);
  }
  ir::PipelineSpec record;  // a stored run's spec, read without its schedule
  NormalizeChunks(&record);
  EXPECT_EQ(record.chunks(), 1u);
}

TEST(IrForms, TextRoundTripCompactIsExact) {
  for (const ir::Schedule& s : Samples()) {
    const std::string text = FormatScheduleText(s, {.compact = true});
    Result<ir::Schedule> back = ParseScheduleText(text);
    ASSERT_TRUE(back.ok()) << back.status().message() << "\n" << text;
    EXPECT_TRUE(MessageDifferencer::Equals(s, *back)) << Name(s) << "\n" << text;
  }
}

TEST(IrForms, TextRoundTripExplicit) {
  for (const ir::Schedule& s : Samples()) {
    Result<ir::Schedule> back = ParseScheduleText(FormatScheduleText(s));
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_TRUE(MessageDifferencer::Equals(ToExplicit(s), *back)) << Name(s);
    EXPECT_TRUE(ValidateSchedule(*back).ok());
  }
}

TEST(IrForms, TextLooksLikeActions) {
  const ir::Schedule s = Generate({.kind = ir::ONE_F_ONE_B_FLUSH, .P = 2, .M = 2});
  EXPECT_EQ(
      FormatScheduleText(s, {.with_comms = false}),
      "# paci schedule 1f1b-flush: one line per stage; op = <virtual stage><kind><micro-batch, 1-based>\n"
      "spec ir_version=1 kind=1f1b-flush stages=2 chunks=1 microbatches=2 accum=0 total=2 window=\n"
      "stage 0 sync-after-flush: 0F1 0F2 0B1 0B2 0OPT2\n"
      "stage 1 sync-after-flush: 1F1 1B1 1F2 1B2 1OPT2\n");
  // Chunks show through the virtual stage: P = 2, V = 2, chunk 1 of stage 0 is virtual stage 2.
  const std::string text =
      FormatScheduleText(Generate({.kind = ir::INTERLEAVED_1F1B, .P = 2, .M = 2, .V = 2}));
  EXPECT_NE(text.find("stage 0 sync-after-flush: 0F1 0SEND_F1 0F2 0SEND_F2 2RECV_F1 2F1"), std::string::npos)
      << text;
}

TEST(IrForms, HandWrittenTextWithoutSpecLine) {
  Result<ir::Schedule> s = ParseScheduleText(
      "# 2 stages, compute only\n"
      "stage 0 sync-after-flush: 0F1 0F2 0B1 0B2 0OPT2\n"
      "stage 1 sync-after-flush: 1F1 1B1 1F2 1B2 1OPT2\n");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->spec().stages(), 2u);
  EXPECT_EQ(s->spec().total_microbatches(), 2u);
  EXPECT_TRUE(ValidateSchedule(*s).ok()) << ValidateSchedule(*s).message();
  // Lowering adds the sends and receives the generators would write.
  const ir::Schedule lowered = WithCommOps(*s);
  EXPECT_TRUE(ValidateSchedule(lowered).ok());
  EXPECT_EQ(ExpandSchedule(lowered),
            ExpandSchedule(Generate({.kind = ir::ONE_F_ONE_B_FLUSH, .P = 2, .M = 2})));
}

TEST(IrForms, TextErrorsNameTheLine) {
  Result<ir::Schedule> s = ParseScheduleText("stage 0 stash: 0F1 0X1\n", "plan.txt");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message().rfind("plan.txt:1: '0X1' is not an op", 0), 0u) << s.status().message();
  s = ParseScheduleText("spec stages=2\nstage 0 stash: 0F1\nstage 1 stash: 0F1\n", "plan.txt");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("plan.txt:3: '0F1' runs on virtual stage 0"), std::string::npos);
  // Issue 25: stages=4294967298 wrapped to 2, a valid-looking header.
  s = ParseScheduleText("spec stages=4294967298\nstage 0 stash: 0F1\nstage 1 stash: 0F1\n", "plan.txt");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("plan.txt:1: spec field stages: 4294967298 does not fit in 32 bits"),
            std::string::npos)
      << s.status().message();
}

// Compute ops (and comm ops when `comms`) of each stage, without OPT: what a CSV carries.
std::vector<std::vector<PlainOp>> CsvOps(const ir::Schedule& s, bool comms) {
  auto ops = ExpandSchedule(s);
  for (auto& stage : ops) {
    std::erase_if(stage, [&](const PlainOp& op) {
      return op.kind == ir::OPTIMIZER_STEP || (!comms && (IsSend(op.kind) || IsRecv(op.kind)));
    });
    for (PlainOp& op : stage) op.id = 0;
  }
  return ops;
}

TEST(IrForms, CsvRoundTrip) {
  for (const ir::Schedule& s : Samples()) {
    for (CsvFormat format : {CsvFormat::kComputeOnly, CsvFormat::kComputeComms}) {
      const bool comms = format == CsvFormat::kComputeComms;
      CsvImportOptions options{.kind = s.spec().kind(), .accum = s.spec().accum()};
      Result<ir::Schedule> back = ParseScheduleCsv(FormatScheduleCsv(s, format), options);
      ASSERT_TRUE(back.ok()) << Name(s) << ": " << back.status().message();
      EXPECT_EQ(CsvOps(*back, comms), CsvOps(s, comms)) << Name(s);
      // One-iteration flush and asynchronous schedules come back whole, optimizer steps included.
      const bool whole = s.spec().total_microbatches() == s.spec().microbatches_per_iteration() ||
                         !IsFlushSchedule(s.spec().kind());
      if (whole && s.spec().window_size() == 0) {
        // A compute-only file is lowered to send/receive ops on reading (lower_compute_only).
        const ir::Schedule compute_only =
            s.spec().stages() > 1 ? WithCommOps(WithoutCommOps(s)) : WithoutCommOps(s);
        const ir::Schedule want = comms ? ToExplicit(s) : compute_only;
        EXPECT_EQ(ExpandSchedule(*back), ExpandSchedule(want)) << Name(s) << " " << comms;
      }
      if (whole) {
        EXPECT_TRUE(ValidateSchedule(*back).ok()) << Name(s) << ": " << ValidateSchedule(*back).message();
      }
    }
  }
}

TEST(IrForms, CsvMatchesPyTorchSpelling) {
  const ir::Schedule s = Generate({.kind = ir::ONE_F_ONE_B_FLUSH, .P = 2, .M = 2});
  EXPECT_EQ(FormatScheduleCsv(s, CsvFormat::kComputeOnly), "0F0,0F1,0B0,0B1\r\n1F0,1B0,1F1,1B1\r\n");
  EXPECT_EQ(FormatScheduleCsv(s, CsvFormat::kComputeComms),
            "0F0,0SEND_F0,0F1,0SEND_F1,0RECV_B0,0B0,0RECV_B1,0B1\r\n"
            "1RECV_F0,1F0,1B0,1SEND_B0,1RECV_F1,1F1,1B1,1SEND_B1\r\n");
}

TEST(IrForms, CsvFromPyTorchWithBubblesAndExtras) {
  // Interleaved, P = 2, V = 2, as PyTorch writes it: idle steps empty, FSDP actions we drop.
  const std::string csv =
      "0UNSHARD,0F0,0F1,2F0,2F1,,,2I0,2W0,2I1,2W1,0I0,0W0,0I1,0W1,0REDUCE_GRAD\n"
      ",1F0,1F1,3F0,3I0,3W0,(3F1;3I1)OVERLAP_F_B,3W1,1I0,1W0,1I1,1W1\n";
  Result<ir::Schedule> s = ParseScheduleCsv(csv, {}, "zb.csv");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->spec().stages(), 2u);
  EXPECT_EQ(s->spec().chunks(), 2u);
  EXPECT_EQ(s->spec().total_microbatches(), 2u);
  EXPECT_TRUE(ValidateSchedule(*s).ok()) << ValidateSchedule(*s).message();
  EXPECT_TRUE(ValidateSchedule(WithCommOps(*s)).ok()) << ValidateSchedule(WithCommOps(*s)).message();
}

TEST(IrForms, CsvErrorsNameTheCell) {
  Result<ir::Schedule> s = ParseScheduleCsv("0F0,0X1\n1F0\n", {}, "bad.csv");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message().rfind("bad.csv:1:2: '0X1' is not an action", 0), 0u) << s.status().message();
  s = ParseScheduleCsv("0F0,3F0\n1F0\n", {}, "v.csv");  // virtual stage 3 lives on rank 1 in loop order
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("V-shaped"), std::string::npos);
}

TEST(IrForms, FilesInEveryFormat) {
  const auto dir = std::filesystem::temp_directory_path() / ("paci_ir_forms_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const ir::Schedule s = Generate({.kind = ir::PACI, .P = 4, .K = 2});
  for (const char* name : {"s.pb", "s.json", "s.txt", "s.csv"}) {
    const std::string path = (dir / name).string();
    ASSERT_TRUE(WriteScheduleFile(path, s).ok()) << path;
    ScheduleReadOptions options;
    options.csv.kind = ir::PACI;
    options.csv.accum = 2;
    Result<ir::Schedule> back = ReadScheduleFile(path, options);
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(CsvOps(*back, false), CsvOps(s, false)) << path;
    EXPECT_TRUE(ValidateSchedule(*back).ok()) << path << ": " << ValidateSchedule(*back).message();
  }
  // Unknown extension: the content decides.
  const std::string odd = (dir / "schedule.data").string();
  ASSERT_TRUE(WriteScheduleFile(odd, s, {.format = ScheduleFileFormat::kJson}).ok());
  EXPECT_TRUE(ReadScheduleFile(odd).ok());
  // Errors name the file.
  Result<ir::Schedule> missing = ReadScheduleFile((dir / "none.pb").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("none.pb: cannot open"), std::string::npos);
  std::ofstream((dir / "junk.json").string()) << "{ not json";
  Result<ir::Schedule> junk = ReadScheduleFile((dir / "junk.json").string());
  ASSERT_FALSE(junk.ok());
  EXPECT_NE(junk.status().message().find("junk.json: not a JSON schedule"), std::string::npos);
  std::ofstream((dir / "junk.pb").string()) << "\xff\xff\xff";
  Result<ir::Schedule> junk_pb = ReadScheduleFile((dir / "junk.pb").string());
  ASSERT_FALSE(junk_pb.ok());
  EXPECT_NE(junk_pb.status().message().find("junk.pb: not a binary protobuf schedule"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace paci
