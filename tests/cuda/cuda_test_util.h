// Helpers for the GPU tests: the clean skip when no device is present, device arrays that convert
// between host fp32 and the activation type, seeded inputs, and the comparison that prints the
// max error next to the tolerance it is held to (llm.c test_gpt2 style).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "exec/cuda/cuda_common.h"
#include "exec/cuda/elementwise.cuh"

namespace paci::exec::testing {

// Skips where there is no driver or no device; fails where the driver is too old or CUDA fails
// otherwise, since a GPU may well be present then and a skip would hide it.
#define SKIP_WITHOUT_GPU()                                                                       \
  do {                                                                                           \
    const ::paci::exec::CudaDeviceProbe probe_ = ::paci::exec::cuda_probe_devices();             \
    if (probe_.absent()) GTEST_SKIP() << probe_.message << ": GPU test not run";                \
    if (probe_.count == 0) GTEST_FAIL() << probe_.message;                                      \
  } while (0)

// |gpu - cpu| <= atol + rtol * |cpu| elementwise.
struct Tolerance {
  double atol, rtol;
};
inline constexpr Tolerance kFp32Tol{1e-5, 1e-4};
inline constexpr Tolerance kBf16Tol{1e-2, 2e-2};

template <typename X>
Tolerance tol_for() {
  return std::is_same_v<X, float> ? kFp32Tol : kBf16Tol;
}
template <typename X>
const char* type_name() {
  return std::is_same_v<X, float> ? "fp32" : "bf16";
}

inline std::vector<float> randn(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}
inline std::vector<int> randint(size_t n, int hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(0, hi - 1);
  std::vector<int> v(n);
  for (int& x : v) x = d(rng);
  return v;
}

// Rounds through X and back, so the CPU reference sees exactly the inputs the GPU sees.
template <typename X>
std::vector<float> round_to(std::vector<float> v) {
  if constexpr (!std::is_same_v<X, float>)
    for (float& x : v) x = __bfloat162float(__float2bfloat16_rn(x));
  return v;
}

// A device array of X, filled from and read back as fp32.
template <typename X>
class DevArray {
 public:
  explicit DevArray(size_t n) : n_(n), buf_(std::max<size_t>(1, n) * sizeof(X)) {
    CUDA_CHECK(cudaMemset(buf_.get(), 0, std::max<size_t>(1, n) * sizeof(X)));
    CUDA_CHECK(cudaDeviceSynchronize());
  }
  explicit DevArray(const std::vector<float>& host) : DevArray(host.size()) { upload(host); }
  void upload(const std::vector<float>& host) {
    if constexpr (std::is_same_v<X, float>) {
      CUDA_CHECK(cudaMemcpy(buf_.get(), host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice));
      // A pageable cudaMemcpy may return before its DMA lands, and the kernels under test run on
      // non-blocking streams that do not order after it: wait for the device.
      CUDA_CHECK(cudaDeviceSynchronize());
    } else {
      DeviceBuffer tmp(host.size() * sizeof(float));
      CUDA_CHECK(cudaMemcpy(tmp.get(), host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice));
      convert_cuda<X, float>(get(), tmp.as<float>(), host.size(), nullptr);
      CUDA_CHECK(cudaDeviceSynchronize());
    }
  }
  std::vector<float> download() const {
    std::vector<float> host(n_);
    CUDA_CHECK(cudaDeviceSynchronize());
    if constexpr (std::is_same_v<X, float>) {
      CUDA_CHECK(cudaMemcpy(host.data(), buf_.get(), n_ * sizeof(float), cudaMemcpyDeviceToHost));
    } else {
      DeviceBuffer tmp(n_ * sizeof(float));
      convert_cuda<float, X>(tmp.as<float>(), get(), n_, nullptr);
      CUDA_CHECK(cudaMemcpy(host.data(), tmp.get(), n_ * sizeof(float), cudaMemcpyDeviceToHost));
    }
    return host;
  }
  X* get() const { return buf_.as<X>(); }
  size_t size() const { return n_; }

 private:
  size_t n_;
  DeviceBuffer buf_;
};

inline DeviceBuffer upload_ints(const std::vector<int>& v) {
  DeviceBuffer b(std::max<size_t>(1, v.size()) * sizeof(int));
  CUDA_CHECK(cudaMemcpy(b.get(), v.data(), v.size() * sizeof(int), cudaMemcpyHostToDevice));
  CUDA_CHECK(cudaDeviceSynchronize());
  return b;
}

// Prints "name: max abs err E (tolerance atol + rtol*|ref|), N values" and checks every element.
inline void expect_close(const std::string& name, const std::vector<float>& gpu, const std::vector<float>& cpu,
                         Tolerance tol) {
  ASSERT_EQ(gpu.size(), cpu.size()) << name;
  double max_err = 0.0;
  size_t bad = 0, first_bad = 0;
  for (size_t i = 0; i < cpu.size(); i++) {
    const double err = std::fabs(static_cast<double>(gpu[i]) - cpu[i]);
    max_err = std::max(max_err, err);
    if (!(err <= tol.atol + tol.rtol * std::fabs(cpu[i]))) {
      if (bad++ == 0) first_bad = i;
    }
  }
  std::printf("  %-40s max abs err %.3e (tolerance %.0e + %.0e*|ref|), %zu values\n", name.c_str(), max_err,
              tol.atol, tol.rtol, cpu.size());
  EXPECT_EQ(bad, 0u) << name << ": " << bad << " values outside tolerance; first at " << first_bad << ": gpu "
                     << gpu[first_bad] << " cpu " << cpu[first_bad];
}

}  // namespace paci::exec::testing
