// cuda_classify_devices (exec/cuda/cuda_common.h): no driver, no device, a driver older than the
// runtime and other failures are told apart, with both versions in the message. Host-only logic:
// runs without a GPU (and checks this machine's own probe is consistent). Also the CHECK macros'
// two modes (throw inside a CudaErrorScope, exit outside).
#include <gtest/gtest.h>

#include <string>

#include "exec/cuda/cuda_common.h"

namespace paci::exec {
namespace {

bool Has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(CudaDeviceProbe, Available) {
  const CudaDeviceProbe p = cuda_classify_devices(cudaSuccess, 2, 12040, 12040);
  EXPECT_EQ(p.state, CudaDeviceState::kAvailable);
  EXPECT_EQ(p.count, 2);
  EXPECT_TRUE(p.message.empty());
  EXPECT_FALSE(p.absent());
}

TEST(CudaDeviceProbe, NoDriverIsAbsent) {
  // What a machine without libcuda reports (this CI machine does): InsufficientDriver, driver 0.
  const CudaDeviceProbe p = cuda_classify_devices(cudaErrorInsufficientDriver, 0, 0, 13000);
  EXPECT_EQ(p.state, CudaDeviceState::kNoDriver);
  EXPECT_EQ(p.count, 0);
  EXPECT_TRUE(p.absent());
  EXPECT_TRUE(Has(p.message, "no NVIDIA driver")) << p.message;
  EXPECT_TRUE(Has(p.message, "13.0")) << p.message;
}

TEST(CudaDeviceProbe, NoDeviceIsAbsent) {
  for (cudaError_t e : {cudaErrorNoDevice, cudaSuccess}) {
    const CudaDeviceProbe p = cuda_classify_devices(e, 0, 12040, 12040);
    EXPECT_EQ(p.state, CudaDeviceState::kNoDevice);
    EXPECT_TRUE(p.absent());
    EXPECT_TRUE(Has(p.message, "no CUDA device is visible")) << p.message;
  }
}

TEST(CudaDeviceProbe, OldDriverIsAnErrorNamingBothVersions) {
  const CudaDeviceProbe p = cuda_classify_devices(cudaErrorInsufficientDriver, 0, 12020, 13000);
  EXPECT_EQ(p.state, CudaDeviceState::kDriverTooOld);
  EXPECT_EQ(p.count, 0);
  EXPECT_FALSE(p.absent());  // a GPU may be there: tests fail instead of skipping
  EXPECT_TRUE(Has(p.message, "12.2")) << p.message;
  EXPECT_TRUE(Has(p.message, "13.0")) << p.message;
  EXPECT_FALSE(Has(p.message, "no CUDA device")) << p.message;
}

TEST(CudaDeviceProbe, OtherErrorsNameTheError) {
  const CudaDeviceProbe p = cuda_classify_devices(cudaErrorSystemDriverMismatch, 0, 12040, 12040);
  EXPECT_EQ(p.state, CudaDeviceState::kError);
  EXPECT_FALSE(p.absent());
  EXPECT_TRUE(Has(p.message, "cudaErrorSystemDriverMismatch")) << p.message;
}

TEST(CudaDeviceProbe, VersionText) {
  EXPECT_EQ(cuda_version_text(12040), "12.4");
  EXPECT_EQ(cuda_version_text(13000), "13.0");
}

TEST(CudaDeviceProbe, ThisMachineIsConsistent) {
  const CudaDeviceProbe p = cuda_probe_devices();
  std::printf("  this machine: %s (count %d, driver %s, runtime %s)\n",
              p.count > 0 ? "CUDA device(s) available" : p.message.c_str(), p.count,
              cuda_version_text(p.driver_version).c_str(), cuda_version_text(p.runtime_version).c_str());
  EXPECT_EQ(p.count > 0, p.state == CudaDeviceState::kAvailable);
  EXPECT_EQ(cuda_device_count(), p.count);
  EXPECT_GT(p.runtime_version, 0);
}

// The CHECK macros throw inside a CudaErrorScope (the backend's methods turn that into a Status)
// and exit outside one. No device needed: the failing "call" is an error code.
TEST(CudaErrorScope, ThrowsInsideExitsOutside) {
  const auto fail = [] { CUDA_CHECK(cudaErrorInvalidValue); };
  {
    const CudaErrorScope scope;
    try {
      fail();
      ADD_FAILURE() << "CUDA_CHECK did not throw inside a scope";
    } catch (const CudaError& e) {
      EXPECT_TRUE(Has(e.what(), "cudaErrorInvalidValue")) << e.what();
      EXPECT_TRUE(Has(e.what(), "device_probe_test.cc")) << e.what();
    }
    {
      const CudaErrorScope nested;
      EXPECT_THROW(fail(), CudaError);
    }
    EXPECT_TRUE(CudaErrorScope::Active());
  }
  EXPECT_FALSE(CudaErrorScope::Active());
  EXPECT_EXIT(fail(), ::testing::ExitedWithCode(EXIT_FAILURE), "CUDA error");
}

}  // namespace
}  // namespace paci::exec
