// The stage worker's exchanges on the CPU, through real thread transports wrapped to record what
// the worker asks of them: every run of consecutive sends and receives in a stage's stream is
// bracketed by exactly one BeginExchange/EndExchange (what NCCL posts as one group), with the
// receive timeout; and a rendezvous transport (NCCL's contract, played here on threads) makes
// the worker post in PlanExchanges' order, which changes no loss.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "exec/runtime/exchange_plan.h"
#include "exec/runtime/pipeline_trainer.h"
#include "exec/runtime/thread_transport.h"
#include "sched/schedule_generator.h"
#include "tiny_setup.h"

namespace paci::exec {
namespace {

// Forwards to a thread endpoint and writes down the pipeline's calls: B, S, R, E.
class RecordingTransport : public Transport {
 public:
  RecordingTransport(std::unique_ptr<Transport> inner, bool rendezvous)
      : inner_(std::move(inner)), rendezvous_(rendezvous) {}
  uint32_t stage() const override { return inner_->stage(); }
  uint32_t stages() const override { return inner_->stages(); }
  Status Send(uint32_t to, const MessageKey& key, std::span<const float> data) override {
    if (Pipelined(key)) calls += 'S';
    return inner_->Send(to, key, data);
  }
  Status Recv(uint32_t from, const MessageKey& key, std::vector<float>* out,
              std::chrono::milliseconds timeout) override {
    if (Pipelined(key)) calls += 'R';
    return inner_->Recv(from, key, out, timeout);
  }
  void Abort(const std::string& reason) override { inner_->Abort(reason); }
  void BeginExchange() override { calls += 'B'; }
  Status EndExchange(std::chrono::milliseconds timeout) override {
    calls += 'E';
    timeouts.push_back(timeout);
    return Status::Ok();
  }
  bool rendezvous() const override { return rendezvous_; }

  std::string calls;
  std::vector<std::chrono::milliseconds> timeouts;

 private:
  // The final gather of weights uses ids no schedule reaches.
  static bool Pipelined(const MessageKey& key) { return key.micro_batch < UINT64_MAX / 2; }
  std::unique_ptr<Transport> inner_;
  bool rendezvous_;
};

ir::Schedule Interleaved() {
  ir::PipelineSpec spec;
  spec.set_kind(ir::INTERLEAVED_1F1B);
  spec.set_stages(2);
  spec.set_chunks(2);
  spec.set_microbatches_per_iteration(4);
  spec.set_total_microbatches(12);
  Result<ir::Schedule> s = GenerateSchedule(spec);
  EXPECT_TRUE(s.ok());
  return *s;
}

// Runs every stage on its own thread through RecordingTransports; returns the last stage's losses.
std::vector<double> RunStages(const ir::Schedule& schedule, bool rendezvous, std::vector<std::string>* calls,
                        std::vector<std::vector<std::chrono::milliseconds>>* timeouts) {
  const uint32_t P = schedule.spec().stages();
  PipelineConfig pc;
  pc.train = testing::TinyTrainConfig();
  pc.recv_timeout = std::chrono::milliseconds(12345);
  const DataSplit data = testing::TinyCorpus();
  ThreadTransportHub hub(P);
  std::vector<std::unique_ptr<RecordingTransport>> ends;
  for (uint32_t s = 0; s < P; ++s) ends.push_back(std::make_unique<RecordingTransport>(hub.Endpoint(s), rendezvous));
  std::vector<Result<PipelineResult>> results(P, Status::Internal("not run"));
  {
    std::vector<std::jthread> threads;
    for (uint32_t s = 0; s < P; ++s)
      threads.emplace_back([&, s] { results[s] = TrainPipelineStage(schedule, pc, data, *ends[s], nullptr); });
  }
  std::vector<double> losses;
  for (uint32_t s = 0; s < P; ++s) {
    EXPECT_TRUE(results[s].ok()) << results[s].status().ToString();
    calls->push_back(ends[s]->calls);
    timeouts->push_back(ends[s]->timeouts);
  }
  if (results[P - 1].ok())
    for (const ir::UpdateMetric& m : results[P - 1]->updates) losses.push_back(m.loss());
  return losses;
}

// The calls a stage should make for `ops`: B, its sends and receives, E per exchange.
std::string Expected(const std::vector<PlainOp>& ops) {
  std::string want;
  for (const StreamItem& item : SplitIntoExchanges(ops)) {
    if (!item.exchange) continue;
    want += 'B';
    for (size_t i = item.first; i < item.first + item.count; ++i) want += IsSend(ops[i].kind) ? 'S' : 'R';
    want += 'E';
  }
  return want;
}

TEST(ExchangeWorker, EveryRunOfSendsAndReceivesIsOneExchange) {
  const ir::Schedule s = Interleaved();
  std::vector<std::string> calls;
  std::vector<std::vector<std::chrono::milliseconds>> timeouts;
  RunStages(s, false, &calls, &timeouts);
  const std::vector<std::vector<PlainOp>> ops = ExpandSchedule(s);
  for (size_t st = 0; st < ops.size(); ++st) {
    EXPECT_EQ(calls[st], Expected(ops[st])) << "stage " << st;
    for (auto t : timeouts[st]) EXPECT_EQ(t.count(), 12345);
  }
}

TEST(ExchangeWorker, RendezvousTransportPostsThePlanAndLossesDoNotChange) {
  const ir::Schedule s = Interleaved();
  std::vector<std::string> plain_calls, planned_calls;
  std::vector<std::vector<std::chrono::milliseconds>> t1, t2;
  const std::vector<double> plain = RunStages(s, false, &plain_calls, &t1);
  const std::vector<double> planned = RunStages(s, true, &planned_calls, &t2);
  Result<std::vector<std::vector<PlainOp>>> plan = PlanExchanges(s);
  ASSERT_TRUE(plan.ok());
  for (size_t st = 0; st < plan->size(); ++st) EXPECT_EQ(planned_calls[st], Expected((*plan)[st])) << "stage " << st;
  EXPECT_NE(plain_calls, planned_calls);  // interleaved 1F1B needs receives posted early
  ASSERT_EQ(plain.size(), 3u);
  EXPECT_EQ(plain, planned);  // bit for bit: posting a receive early changes no arithmetic
}

}  // namespace
}  // namespace paci::exec
