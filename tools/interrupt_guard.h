// SIGTERM and SIGINT end `paci train` with its stored run marked failed ('interrupted'), not left
// 'running' forever (issue 25). While an InterruptGuard lives, a handler for both signals writes
// the signal's number to a pipe (all a handler may safely do, in whichever thread the signal
// lands: stage threads, OpenMP or BLAS pools); a watcher thread reads it, marks the run failed
// through its own connection to the store (the run's writer belongs to other threads), then
// restores the default action and raises the signal again, so the parent still sees the process
// killed by that signal. One guard at a time.
#pragma once

#include <signal.h>

#include <cstdint>
#include <string>
#include <thread>

namespace paci::cli {

class InterruptGuard {
 public:
  // `db`: the store's path; `run_id`: the run this process is writing.
  InterruptGuard(std::string db, int64_t run_id);
  ~InterruptGuard();  // stops the watcher and restores the previous handlers
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

 private:
  void Watch();

  std::string db_;
  int64_t run_id_;
  struct sigaction old_term_ {}, old_int_ {};
  std::thread watcher_;
};

}  // namespace paci::cli
