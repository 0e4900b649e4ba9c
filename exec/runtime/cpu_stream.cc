#include "exec/runtime/cpu_stream.h"

#include "exec/model/threads.h"

namespace paci::exec {

CpuStream::CpuStream() : thread_([this, n = exec_threads()] { Loop(n); }) {}

CpuStream::~CpuStream() {
  {
    std::lock_guard l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void CpuStream::Enqueue(std::function<void()> work) {
  {
    std::lock_guard l(mu_);
    queue_.push_back(std::move(work));
  }
  cv_.notify_all();
}

void CpuStream::Synchronize() {
  std::unique_lock l(mu_);
  cv_.wait(l, [&] { return queue_.empty() && !busy_; });
}

void CpuStream::Loop(int kernel_threads) {
  exec_set_threads(kernel_threads);  // per-thread setting; see the header
  std::unique_lock l(mu_);
  for (;;) {
    cv_.wait(l, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stop_ and drained
    std::function<void()> work = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    l.unlock();
    work();
    l.lock();
    busy_ = false;
    cv_.notify_all();
  }
}

}  // namespace paci::exec
