// ThreadTransport: messages matched by key in any order, deadlines, and abort.
#include <gtest/gtest.h>

#include <thread>

#include "exec/runtime/thread_transport.h"

namespace paci::exec {
namespace {

MessageKey Act(uint64_t mb, uint32_t from) { return {false, mb, from, from + 1}; }

TEST(ThreadTransport, ReceivesByKeyInAnyOrder) {
  ThreadTransportHub hub(2);
  auto a = hub.Endpoint(0), b = hub.Endpoint(1);
  ASSERT_TRUE(a->Send(1, Act(1, 0), std::vector<float>{1.0f}).ok());
  ASSERT_TRUE(a->Send(1, Act(2, 0), std::vector<float>{2.0f, 2.5f}).ok());
  std::vector<float> got;
  ASSERT_TRUE(b->Recv(0, Act(2, 0), &got, std::chrono::milliseconds(100)).ok());
  EXPECT_EQ(got, (std::vector<float>{2.0f, 2.5f}));
  ASSERT_TRUE(b->Recv(0, Act(1, 0), &got, std::chrono::milliseconds(100)).ok());
  EXPECT_EQ(got, std::vector<float>{1.0f});
}

TEST(ThreadTransport, SilentPeerEndsInDeadlineNamingTheMessage) {
  ThreadTransportHub hub(2);
  auto b = hub.Endpoint(1);
  std::vector<float> got;
  const auto t0 = std::chrono::steady_clock::now();
  Status st = b->Recv(0, Act(3, 0), &got, std::chrono::milliseconds(50));
  EXPECT_EQ(st.code(), Status::Code::kDeadlineExceeded);
  EXPECT_NE(st.message().find("activation of micro-batch 3 from stage 0"), std::string::npos) << st.message();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

TEST(ThreadTransport, AbortWakesAWaitingPeer) {
  ThreadTransportHub hub(2);
  auto a = hub.Endpoint(0), b = hub.Endpoint(1);
  std::thread killer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    a->Abort("stage 0 failed");
  });
  std::vector<float> got;
  Status st = b->Recv(0, Act(1, 0), &got, std::chrono::seconds(30));
  killer.join();
  EXPECT_EQ(st.code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(st.message().find("stage 0 failed"), std::string::npos);
}

}  // namespace
}  // namespace paci::exec
