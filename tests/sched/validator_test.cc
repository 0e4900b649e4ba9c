// Each validator rule rejects a crafted bad schedule, and the message names the stage, the op and
// the rule. Schedules are written in the text form so each test shows exactly what is wrong.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "sched/comm_lowering.h"
#include "sched/schedule_text.h"
#include "sched/schedule_validator.h"
#include "sched_test_util.h"

namespace paci {
namespace {

// 1F1B-flush, P = 2, M = 3, exactly as the generator writes it.
const std::string kGood =
    "spec ir_version=1 kind=1f1b-flush stages=2 chunks=1 microbatches=3 accum=0 total=3\n"
    "stage 0 sync-after-flush: 0F1 0SEND_F1 0F2 0SEND_F2 0RECV_B1 0B1 0F3 0SEND_F3 0RECV_B2 0B2 0RECV_B3 0B3 0OPT3\n"
    "stage 1 sync-after-flush: 1RECV_F1 1F1 1B1 1SEND_B1 1RECV_F2 1F2 1B2 1SEND_B2 1RECV_F3 1F3 1B3 1SEND_B3 1OPT3\n";

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

Status ValidateText(const std::string& text) {
  Result<ir::Schedule> schedule = ParseScheduleText(text);
  EXPECT_TRUE(schedule.ok()) << schedule.status().message();
  return schedule.ok() ? ValidateSchedule(*schedule) : schedule.status();
}

// The error names the stage, the op in text form, its id (or "missing") and the rule.
void ExpectBroken(const Status& st, const std::string& stage_op, const std::string& rule,
                  const std::string& detail = "") {
  ASSERT_FALSE(st.ok()) << "expected rule " << rule << " to fail";
  EXPECT_NE(st.message().find(stage_op), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("rule '" + rule + "'"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find(detail), std::string::npos) << st.message();
}

TEST(Validator, AcceptsTheGeneratedBaseCase) { EXPECT_TRUE(ValidateText(kGood).ok()) << ValidateText(kGood).message(); }

TEST(Validator, SpecIrVersion) {
  ExpectBroken(ValidateText(Replace(kGood, "ir_version=1", "ir_version=7")), "schedule", "spec", "ir_version 7");
}

TEST(Validator, SpecImpossibleCombination) {
  ExpectBroken(ValidateText(Replace(Replace(kGood, "kind=1f1b-flush", "kind=pipedream"), "accum=0", "accum=3")),
               "schedule", "spec", "accum");
}

TEST(Validator, SpecStreamCount) {
  Result<ir::Schedule> s = ParseScheduleText(kGood);
  ASSERT_TRUE(s.ok());
  s->mutable_spec()->set_stages(3);
  ExpectBroken(ValidateSchedule(*s), "schedule", "spec", "2 streams for 3 stages");
}

TEST(Validator, SpecWeightPolicyMissing) {
  ExpectBroken(ValidateText(Replace(kGood, "stage 1 sync-after-flush:", "stage 1:")), "stage 1", "spec", "weight policy");
}

TEST(Validator, StreamStageField) {
  Result<ir::Schedule> s = ParseScheduleText(kGood);
  ASSERT_TRUE(s.ok());
  s->mutable_streams(1)->set_stage(0);
  ExpectBroken(ValidateSchedule(*s), "stage 1", "stream-stage");
  s = ParseScheduleText(kGood);
  s->mutable_streams(1)->mutable_prefix(3)->set_stage(0);  // 1SEND_B1 claims stage 0
  ExpectBroken(ValidateSchedule(*s), "op 0SEND_B1 (id 16)", "stream-stage", "stream of stage 1");
}

TEST(Validator, OpFields) {
  ExpectBroken(ValidateText(Replace(kGood, "1F3 1B3 1SEND_B3", "1F4 1B3 1SEND_B3")), "stage 1: op 1F4 (id 22)",
               "op-fields", "outside 1..3");
  Result<ir::Schedule> s = ParseScheduleText(kGood);
  s->mutable_streams(0)->mutable_prefix(2)->set_id(99);
  ExpectBroken(ValidateSchedule(*s), "stage 0: op 0F2 (id 99)", "op-fields", "position gives 2");
  s = ParseScheduleText(kGood);
  s->mutable_streams(0)->mutable_prefix(2)->set_chunk(1);
  ExpectBroken(ValidateSchedule(*s), "stage 0: op 2F2", "op-fields", "chunk 1 but V = 1");
}

TEST(Validator, ExactlyOnceDuplicate) {
  ExpectBroken(ValidateText(Replace(kGood, "0F2 0SEND_F2", "0F1 0SEND_F2")), "stage 0: op 0F1 (id 2)",
               "exactly-once", "second F");
}

TEST(Validator, ExactlyOnceMissingBackward) {
  // Compute-only form (no comm ops): stage 0 never runs B3.
  const std::string text =
      "spec ir_version=1 kind=1f1b-flush stages=2 chunks=1 microbatches=3 total=3\n"
      "stage 0 sync-after-flush: 0F1 0F2 0B1 0F3 0B2\n"
      "stage 1 sync-after-flush: 1F1 1B1 1F2 1B2 1F3 1B3\n";
  ExpectBroken(ValidateText(text), "stage 0: op 0B3 (missing)", "exactly-once", "no B");
}

TEST(Validator, ExactlyOnceSplitKindNeedsIW) {
  ExpectBroken(ValidateText(Replace(kGood, "kind=1f1b-flush", "kind=zb-h1")), "stage 0: op 0B1", "exactly-once",
               "splits the backward");
}

TEST(Validator, OrderBackwardBeforeForward) {
  ExpectBroken(ValidateText(Replace(kGood, "1RECV_F1 1F1 1B1", "1RECV_F1 1B1 1F1")), "stage 1: op 1B1 (id 14)",
               "order", "before the F");
}

TEST(Validator, OrderWeightGradBeforeInputGrad) {
  const std::string text =
      "spec ir_version=1 kind=zb-h1 stages=2 chunks=1 microbatches=2 total=2\n"
      "stage 0 sync-after-flush: 0F1 0F2 0W1 0I1 0I2 0W2 0OPT2\n"
      "stage 1 sync-after-flush: 1F1 1I1 1W1 1F2 1I2 1W2 1OPT2\n";
  ExpectBroken(ValidateText(text), "stage 0: op 0W1 (id 2)", "order", "W before the I");
}

TEST(Validator, OrderReceiveBeforeCompute) {
  ExpectBroken(ValidateText(Replace(kGood, "1RECV_F1 1F1", "1F1 1RECV_F1")), "stage 1: op 1F1 (id 13)", "order",
               "RECV_F");
}

TEST(Validator, OrderSendAfterCompute) {
  ExpectBroken(ValidateText(Replace(kGood, "0F1 0SEND_F1", "0SEND_F1 0F1")), "stage 0: op 0SEND_F1 (id 0)",
               "order", "SEND_F before the F");
}

TEST(Validator, PairingReceiveWithoutSend) {
  ExpectBroken(ValidateText(Replace(kGood, "1B1 1SEND_B1", "1B1")), "stage 0: op 0RECV_B1 (id 4)", "pairing",
               "no matching 1SEND_B1");
}

TEST(Validator, PairingSendPastLastStage) {
  ExpectBroken(ValidateText(Replace(kGood, "1RECV_F1 1F1", "1RECV_F1 1F1 1SEND_F1")), "stage 1: op 1SEND_F1",
               "pairing", "past the last stage");
}

TEST(Validator, OptimizerWithMicroBatchesInFlight) {
  ExpectBroken(ValidateText(Replace(Replace(kGood, "0RECV_B2 0B2", "0RECV_B2 0B2 0OPT2"), "0B3 0OPT3", "0B3")),
               "stage 0: op 0OPT2", "optimizer", "1 micro-batch(es) in flight");
}

TEST(Validator, OptimizerBeforeTheBackwardItApplies) {
  ExpectBroken(ValidateText(Replace(kGood, "0RECV_B3 0B3 0OPT3", "0OPT3 0RECV_B3 0B3")), "stage 0: op 0OPT3",
               "optimizer", "before the backward of micro-batch 3");
}

TEST(Validator, OptimizerStepsMustIncreaseAndAgree) {
  const std::string paci =
      "spec ir_version=1 kind=paci stages=2 chunks=1 accum=1 total=2\n"
      "stage 0 live-bounded-drift: 0F1 0F2 0B1 0OPT1 0B2 0OPT2\n"
      "stage 1 live-bounded-drift: 1F1 1B1 1OPT1 1F2 1B2 1OPT2\n";
  EXPECT_TRUE(ValidateText(paci).ok()) << ValidateText(paci).message();
  ExpectBroken(ValidateText(Replace(paci, "0B2 0OPT2", "0B2 0OPT1")), "stage 0: op 0OPT1 (id 5)", "optimizer",
               "must increase");
  ExpectBroken(ValidateText(Replace(paci, "1B2 1OPT2", "1B2")), "stage 1: op 1OPT2 (missing)", "optimizer",
               "different micro-batches");
}

TEST(Validator, DoubleBufferVersionMustExist) {
  // 2BW with a window wider than K: F5 (group 3, version 1) would run before step 1 exists.
  ir::Schedule s = testing::Generate({.kind = ir::PIPEDREAM_2BW, .P = 2, .K = 2, .N = 8, .window = {4, 1}});
  ExpectBroken(ValidateSchedule(s), "stage 0: op 0F5", "optimizer", "before it exists");
}

TEST(Validator, DeadlockWithCommOps) {
  // Stage 0 waits for B1 before sending F2; stage 1 waits for F2 before sending B1.
  const std::string text =
      "spec ir_version=1 kind=unspecified stages=2 chunks=1 total=2\n"
      "stage 0 sync-after-flush: 0F1 0SEND_F1 0RECV_B1 0B1 0F2 0SEND_F2 0RECV_B2 0B2 0OPT2\n"
      "stage 1 sync-after-flush: 1RECV_F1 1F1 1RECV_F2 1F2 1B1 1SEND_B1 1B2 1SEND_B2 1OPT2\n";
  const Status st = ValidateText(text);
  ExpectBroken(st, "stage 0: op 0RECV_B1 (id 2)", "deadlock", "waiting for 1SEND_B1 on stage 1");
  EXPECT_NE(st.message().find("stage 1 at 1RECV_F2 (id 11) waiting for 0SEND_F2 on stage 0"), std::string::npos)
      << st.message();
}

TEST(Validator, DeadlockComputeOnly) {
  const std::string text =
      "spec ir_version=1 kind=unspecified stages=2 chunks=1 total=2\n"
      "stage 0 sync-after-flush: 0F1 0B1 0F2 0B2 0OPT2\n"
      "stage 1 sync-after-flush: 1F1 1F2 1B1 1B2 1OPT2\n";
  ExpectBroken(ValidateText(text), "stage 0: op 0B1 (id 1)", "deadlock", "stage 1 at 1F2 (id 6) waiting for 0F2");
}

TEST(Validator, FastForSixteenStagesAndThousandsOfMicroBatches) {
  const auto start = std::chrono::steady_clock::now();
  for (ir::ScheduleKind kind : {ir::PACI, ir::ONE_F_ONE_B_FLUSH, ir::INTERLEAVED_1F1B}) {
    ir::Schedule s = kind == ir::PACI ? testing::Generate({.kind = kind, .P = 16, .K = 8, .N = 8000})
                                      : testing::Generate({.kind = kind, .P = 16, .M = 8000});
    EXPECT_TRUE(ValidateSchedule(s).ok()) << ValidateSchedule(s).message();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 20.0);
}

}  // namespace
}  // namespace paci
