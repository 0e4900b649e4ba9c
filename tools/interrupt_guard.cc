#include "tools/interrupt_guard.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <utility>

#include "store/trace_store.h"

namespace paci::cli {
namespace {

int g_pipe[2] = {-1, -1};  // [0] the watcher reads, [1] the handler writes; byte 0 stops the watcher

void OnSignal(int sig) {
  const unsigned char b = static_cast<unsigned char>(sig);
  const int saved = errno;  // a handler must leave errno as it found it
  (void)!write(g_pipe[1], &b, 1);
  errno = saved;
}

}  // namespace

InterruptGuard::InterruptGuard(std::string db, int64_t run_id) : db_(std::move(db)), run_id_(run_id) {
  if (pipe2(g_pipe, O_CLOEXEC) != 0) return;  // no guard: the signals keep their default action
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // reads and writes in flight elsewhere resume rather than fail
  sigaction(SIGTERM, &sa, &old_term_);
  sigaction(SIGINT, &sa, &old_int_);
  watcher_ = std::thread([this] { Watch(); });
}

InterruptGuard::~InterruptGuard() {
  if (!watcher_.joinable()) return;
  sigaction(SIGTERM, &old_term_, nullptr);
  sigaction(SIGINT, &old_int_, nullptr);
  const unsigned char stop = 0;
  (void)!write(g_pipe[1], &stop, 1);
  watcher_.join();
  close(g_pipe[0]);
  close(g_pipe[1]);
  g_pipe[0] = g_pipe[1] = -1;
}

void InterruptGuard::Watch() {
  unsigned char sig = 0;
  ssize_t n;
  while ((n = read(g_pipe[0], &sig, 1)) < 0 && errno == EINTR) {
  }
  if (n != 1 || sig == 0) return;
  const std::string why = std::string("interrupted (") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ")";
  Result<store::TraceStore> store = store::TraceStore::Open(db_, {.create_if_missing = false});
  const Status st = store.ok() ? store->FailRunningRun(run_id_, why) : store.status();
  if (st.ok())
    std::fprintf(stderr, "paci train: %s: run %lld marked failed\n", why.c_str(), static_cast<long long>(run_id_));
  else
    std::fprintf(stderr, "paci train: %s: run %lld not marked failed: %s\n", why.c_str(),
                 static_cast<long long>(run_id_), st.message().c_str());
  // The default action (terminate) for the whole process, as if nothing had caught the signal.
  signal(sig, SIG_DFL);
  raise(sig);
}

}  // namespace paci::cli
