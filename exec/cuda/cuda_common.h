// Shared pieces of the CUDA executor: CHECK macros that print the library's error string with
// file:line and exit (llm.c cudaCheck, nccl-tests CUDACHECK), or throw CudaError inside a
// CudaErrorScope (the backend's methods, which return it as a Status); device detection; the
// activation precision; the per-stream context that owns the cuBLAS handle (no globals); an owning
// device buffer. Host-only header: plain C++ translation units may include it.
#pragma once

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <utility>

#include "exec/cuda/device_memory.h"

namespace paci::exec {

// What the CHECK macros throw, instead of exiting, while a CudaErrorScope is open on this thread.
// The CUDA backend opens one in each of its methods and turns the exception into a Status, so a
// failing CUDA call fails the stage (the run is stored as failed, peers are told to stop) rather
// than calling exit() from a stage thread while the other stages and the store are live.
class CudaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Thread-local and nestable; outside any scope (tests, tools, set-up) the macros still exit.
class CudaErrorScope {
 public:
  CudaErrorScope() { ++depth(); }
  ~CudaErrorScope() { --depth(); }
  CudaErrorScope(const CudaErrorScope&) = delete;
  CudaErrorScope& operator=(const CudaErrorScope&) = delete;
  static bool Active() { return depth() > 0; }

 private:
  static int& depth() {
    static thread_local int d = 0;
    return d;
  }
};

[[noreturn]] inline void cuda_fail(const char* lib, const char* msg, const char* expr, const char* file,
                                   int line) {
  if (CudaErrorScope::Active())
    throw CudaError(std::string(lib) + " error: " + msg + " in " + expr + " at " + file + ":" +
                    std::to_string(line));
  std::fprintf(stderr, "[%s error] %s\n  in %s\n  at %s:%d\n", lib, msg, expr, file, line);
  std::exit(EXIT_FAILURE);
}

// Teardown (destructors, frees) never exits or throws: after a failed call CUDA reports the same
// sticky error from every later call, and the failure has already been reported once.
inline void cuda_teardown_check(cudaError_t e, const char* expr) {
  if (e == cudaSuccess) return;
  (void)cudaGetLastError();  // a non-sticky error must not surface at the next launch check
  if (!CudaErrorScope::Active())
    std::fprintf(stderr, "[CUDA error during teardown, ignored] %s in %s\n", cudaGetErrorString(e), expr);
}

}  // namespace paci::exec

#define CUDA_CHECK(call)                                                                  \
  do {                                                                                    \
    cudaError_t e_ = (call);                                                              \
    if (e_ != cudaSuccess)                                                                \
      ::paci::exec::cuda_fail("CUDA", cudaGetErrorString(e_), #call, __FILE__, __LINE__); \
  } while (0)

#define CUBLAS_CHECK(call)                                                                     \
  do {                                                                                         \
    cublasStatus_t s_ = (call);                                                                \
    if (s_ != CUBLAS_STATUS_SUCCESS)                                                           \
      ::paci::exec::cuda_fail("cuBLAS", cublasGetStatusString(s_), #call, __FILE__, __LINE__); \
  } while (0)

namespace paci::exec {

// What cudaGetDeviceCount found. A machine without the NVIDIA driver, one without a device, and
// one whose driver is older than this program's CUDA runtime all fail that call, the first and
// the last with the same error (cudaErrorInsufficientDriver); only the driver version tells them
// apart (0 when no driver is installed). Reporting a too-old driver as "no device" sent people
// looking for a missing GPU, so the message names both versions.
enum class CudaDeviceState {
  kAvailable,     // count >= 1
  kNoDriver,      // no NVIDIA driver installed (libcuda not found)
  kNoDevice,      // driver present, no device visible (cudaErrorNoDevice, or a count of 0)
  kDriverTooOld,  // driver present but older than the runtime (cudaErrorInsufficientDriver)
  kError,         // any other failure (e.g. cudaErrorSystemDriverMismatch)
};
struct CudaDeviceProbe {
  CudaDeviceState state = CudaDeviceState::kNoDevice;
  int count = 0;                                // 0 unless kAvailable
  int driver_version = 0, runtime_version = 0;  // 1000 * major + 10 * minor; driver 0: none
  std::string message;                          // why there is no usable device; empty when kAvailable
  // Nothing to run on, and nothing wrong: a GPU test may skip. A too-old driver or another error
  // means a GPU may well be there and is unusable: a failure, not a skip.
  bool absent() const { return state == CudaDeviceState::kNoDriver || state == CudaDeviceState::kNoDevice; }
};
// "12.4" from 12040.
std::string cuda_version_text(int version);
// The classification alone (no CUDA call), so every branch is tested without a GPU.
CudaDeviceProbe cuda_classify_devices(cudaError_t err, int count, int driver_version, int runtime_version);
// Calls cudaGetDeviceCount, cudaDriverGetVersion and cudaRuntimeGetVersion; never fails.
CudaDeviceProbe cuda_probe_devices();

// Number of usable CUDA devices, 0 when cuda_probe_devices() finds none (its message says why).
inline int cuda_device_count() { return cuda_probe_devices().count; }

// What a kernel launcher needs: the stream it runs on and a cuBLAS handle bound to that stream.
// One per stream (cuBLAS handles are not meant to be shared between concurrently used streams).
struct CudaContext {
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  void* workspace = nullptr;  // cuBLAS workspace, so concurrent handles never share the default one
  size_t workspace_bytes = 0;
  bool owns_stream = false;
  DeviceMemoryTracker* memory = nullptr;  // counted the workspace (the scope at creation)
};

// Creates a non-blocking stream (or adopts `stream` when not null) and a cuBLAS handle on it.
CudaContext cuda_context_create(cudaStream_t stream = nullptr);
void cuda_context_destroy(CudaContext* ctx);

// Owning device allocation; grows on demand and never shrinks (records are reused per micro-batch).
// An allocation made inside a DeviceMemoryScope is counted by its tracker until it is freed.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes) { reserve(bytes); }
  ~DeviceBuffer() { release(); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept
      : ptr_(std::exchange(o.ptr_, nullptr)), bytes_(std::exchange(o.bytes_, 0)),
        tracker_(std::exchange(o.tracker_, nullptr)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      release();
      ptr_ = std::exchange(o.ptr_, nullptr);
      bytes_ = std::exchange(o.bytes_, 0);
      tracker_ = std::exchange(o.tracker_, nullptr);
    }
    return *this;
  }
  // Ensures at least `bytes`; the old contents are lost when it grows.
  void reserve(size_t bytes) {
    if (bytes <= bytes_) return;
    release();
    CUDA_CHECK(cudaMalloc(&ptr_, bytes));
    bytes_ = bytes;
    tracker_ = DeviceMemoryScope::Current();
    if (tracker_ != nullptr) tracker_->Allocated(bytes);
  }
  // Never throws (destructors and noexcept moves call it); see cuda_teardown_check.
  void release() noexcept {
    if (ptr_ != nullptr) {
      cuda_teardown_check(cudaFree(ptr_), "cudaFree");
      if (tracker_ != nullptr) tracker_->Freed(bytes_);
    }
    ptr_ = nullptr;
    bytes_ = 0;
    tracker_ = nullptr;
  }
  void* get() const { return ptr_; }
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
  DeviceMemoryTracker* tracker_ = nullptr;
};

}  // namespace paci::exec
