#include "tools/child_signals.h"

#include <cstdlib>

namespace paci::cli {
namespace {

// All a handler may safely do: note the signal. Read by the one wait loop.
volatile sig_atomic_t g_received = 0;

void OnSignal(int sig) { g_received = sig; }

}  // namespace

ChildSignals::ChildSignals() {
  g_received = 0;
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: waitpid returns EINTR, so the loop sees the signal at once
  sigaction(SIGTERM, &sa, &old_term_);
  sigaction(SIGINT, &sa, &old_int_);
}

ChildSignals::~ChildSignals() {
  sigaction(SIGTERM, &old_term_, nullptr);
  sigaction(SIGINT, &old_int_, nullptr);
}

int ChildSignals::received() const { return g_received; }

void ChildSignals::EndBySignal() const {
  const int sig = g_received;
  signal(sig, SIG_DFL);
  raise(sig);
  std::abort();  // not reached: the default action of SIGTERM and SIGINT ends the process
}

}  // namespace paci::cli
