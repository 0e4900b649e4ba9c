// exec's device and transport factories: what this build has works, what it lacks is a Status
// naming the CMake option that builds it (exec/runtime/device_factory.h, transport_factory.h).
// CMake says which parts it built (PACI_BUILT_*), so each build checks its own answers.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "exec/runtime/device_factory.h"
#include "exec/runtime/rank_group.h"
#include "exec/runtime/transport_factory.h"

namespace paci::exec {
namespace {

constexpr bool kCudaBuilt = PACI_BUILT_CUDA;
constexpr bool kMpiBuilt = PACI_BUILT_MPI;
constexpr bool kNcclBuilt = PACI_BUILT_NCCL;

bool Names(const Status& st, const std::string& text) { return st.message().find(text) != std::string::npos; }

// One rank that is not an MPI job: the rank transports must refuse it, not crash.
class LoneRank : public RankGroup {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_rank() const override { return 0; }
  const char* local_rank_source() const override { return "test"; }
  [[noreturn]] void AbortJob(int code) override { std::exit(code); }
  int64_t Broadcast(int64_t value, int /*root*/) const override { return value; }
  void Barrier() const override {}
};

TEST(DeviceFactory, CpuIsTheDefaultBackend) {
  Result<BackendFactory> cpu = MakeStageBackend("cpu", ir::PRECISION_FP32);
  ASSERT_TRUE(cpu.ok()) << cpu.status().message();
  EXPECT_FALSE(static_cast<bool>(*cpu)) << "an empty factory selects the pipeline trainer's CPU backend";
  EXPECT_TRUE(BindRankDevice("cpu", 3).ok());
}

TEST(DeviceFactory, CudaIsBuiltOrNamesTheOption) {
  Result<BackendFactory> cuda = MakeStageBackend("cuda", ir::PRECISION_BF16);
  if (!kCudaBuilt) {
    ASSERT_FALSE(cuda.ok());
    EXPECT_TRUE(Names(cuda.status(), "-DPACI_WITH_CUDA=ON")) << cuda.status().message();
    EXPECT_TRUE(Names(BindRankDevice("cuda", 0), "-DPACI_WITH_CUDA=ON"));
  } else if (!cuda.ok()) {  // built, but no usable GPU here: the probe says why
    EXPECT_FALSE(Names(cuda.status(), "not built")) << cuda.status().message();
    EXPECT_FALSE(cuda.status().message().empty());
  } else {
    EXPECT_TRUE(static_cast<bool>(*cuda));
  }
}

TEST(DeviceFactory, UnknownDeviceIsNamed) {
  Result<BackendFactory> tpu = MakeStageBackend("tpu", ir::PRECISION_FP32);
  ASSERT_FALSE(tpu.ok());
  EXPECT_EQ(tpu.status().code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(Names(tpu.status(), "'tpu'"));
  EXPECT_FALSE(BindRankDevice("tpu", 0).ok());
}

TEST(TransportFactory, EachTransportIsBuiltOrNamesTheOption) {
  EXPECT_TRUE(TransportBuilt("threads").ok());
  const Status mpi = TransportBuilt("mpi");
  EXPECT_EQ(mpi.ok(), kMpiBuilt) << mpi.message();
  if (!kMpiBuilt) {
    EXPECT_TRUE(Names(mpi, "-DPACI_WITH_MPI=ON")) << mpi.message();
  }
  const Status nccl = TransportBuilt("nccl");
  EXPECT_EQ(nccl.ok(), kNcclBuilt) << nccl.message();
  if (!kNcclBuilt) {
    EXPECT_TRUE(Names(nccl, "-DPACI_WITH_CUDA=ON")) << nccl.message();
    EXPECT_TRUE(Names(nccl, "-DPACI_WITH_MPI=ON")) << nccl.message();
  }
  const Status pigeon = TransportBuilt("pigeon");
  EXPECT_EQ(pigeon.code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(Names(pigeon, "'pigeon'"));
}

TEST(TransportFactory, RankTransportsNeedAnMpiJob) {
  LoneRank lone;
  const std::chrono::milliseconds timeout(1000);
  Result<RankTransport> threads = MakeTransport("threads", lone, "cpu", timeout);
  EXPECT_EQ(threads.status().code(), Status::Code::kInvalidArgument)
      << "threads are made by TrainPipelineThreads";
  Result<RankTransport> mpi = MakeTransport("mpi", lone, "cpu", timeout);
  ASSERT_FALSE(mpi.ok());
  EXPECT_TRUE(Names(mpi.status(), kMpiBuilt ? "MPI job" : "-DPACI_WITH_MPI=ON")) << mpi.status().message();
  Result<RankTransport> nccl = MakeTransport("nccl", lone, "cuda", timeout);
  ASSERT_FALSE(nccl.ok());
  EXPECT_TRUE(Names(nccl.status(), kNcclBuilt ? "MPI job" : "-DPACI_WITH_CUDA=ON"))
      << nccl.status().message();
}

TEST(TransportFactory, JoinRanksNamesTheOptionWithoutMpi) {
  if (kMpiBuilt) GTEST_SKIP() << "joining starts MPI; the mpirun tests (runtime_mpi_vs_threads) cover it";
  Result<std::unique_ptr<RankGroup>> ranks = JoinRanks();
  ASSERT_FALSE(ranks.ok());
  EXPECT_TRUE(Names(ranks.status(), "-DPACI_WITH_MPI=ON")) << ranks.status().message();
}

}  // namespace
}  // namespace paci::exec
