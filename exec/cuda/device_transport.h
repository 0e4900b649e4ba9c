// DeviceTransport: device-to-device messages between stage processes, one stage per process and
// one process per GPU; what the GPU runtime's rank mode (gpu_pipeline.h) sends and receives through.
// NcclTransport implements it. Calls return at once; ordering is by CUDA streams and events.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime.h>

#include "proto/status.h"

namespace paci::exec {

// A directed link's messages are received in the order they were sent.
class DeviceTransport {
 public:
  virtual ~DeviceTransport() = default;
  virtual uint32_t stage() const = 0;
  virtual uint32_t stages() const = 0;
  // Sends `bytes` of device memory once `producer` has passed the work issued so far; records
  // `sent` when the buffer may be written again. Returns at once.
  virtual Status SendDevice(uint32_t to_stage, const void* data, size_t bytes, cudaStream_t producer,
                            cudaEvent_t sent) = 0;
  // Receives into device memory once `writable` (may be null) has passed; `consumer` waits for the
  // data. Returns at once.
  virtual Status RecvDevice(uint32_t from_stage, void* data, size_t bytes, cudaStream_t consumer,
                            cudaEvent_t writable) = 0;
};

}  // namespace paci::exec
