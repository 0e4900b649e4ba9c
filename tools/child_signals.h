// SIGTERM and SIGINT to `paci study` reach the `paci train` children it runs (issue 25: a study
// killed by its scheduler left its child training). While a ChildSignals lives, either signal only
// records itself; the study's wait loop (waitpid fails with EINTR) then passes it to every running
// child, spawns nothing more, waits for the children (each marks its run failed, 'interrupted')
// and ends killed by the same signal, as the shell or scheduler expects. One at a time.
#pragma once

#include <signal.h>
#include <sys/types.h>

namespace paci::cli {

class ChildSignals {
 public:
  ChildSignals();
  ~ChildSignals();  // restores the previous handlers
  ChildSignals(const ChildSignals&) = delete;
  ChildSignals& operator=(const ChildSignals&) = delete;

  // The signal received so far (SIGTERM or SIGINT), or 0.
  int received() const;
  // Restores the default action and raises the received signal: the process ends killed by it.
  [[noreturn]] void EndBySignal() const;

 private:
  struct sigaction old_term_ {
  }, old_int_{};
};

}  // namespace paci::cli
