// CpuStream: an in-order queue of work run by one thread, the CPU's counterpart of a CUDA
// stream. The CPU backend can issue its ops here instead of running them on the caller, so the
// stage worker's asynchronous path (ops enqueued, times reported once complete) runs and is tested
// on machines without a GPU. The stream thread uses the creating thread's kernel thread count, so
// results are bit-identical to running the same work on the caller.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace paci::exec {

class CpuStream {
 public:
  CpuStream();
  ~CpuStream();  // runs what is queued, then stops
  CpuStream(const CpuStream&) = delete;
  CpuStream& operator=(const CpuStream&) = delete;

  void Enqueue(std::function<void()> work);
  void Synchronize();  // returns once everything enqueued so far has run

 private:
  void Loop(int kernel_threads);

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool busy_ = false, stop_ = false;
  std::thread thread_;
};

}  // namespace paci::exec
