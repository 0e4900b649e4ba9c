// See affinity.h.
#include "exec/model/affinity.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <thread>

namespace paci::exec {

namespace {

std::vector<int> cpus_in(const cpu_set_t& set) {
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus;
}

}  // namespace

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    std::vector<int> cpus = cpus_in(set);
    if (!cpus.empty()) return cpus;
  }
  std::vector<int> cpus(std::max(1u, std::thread::hardware_concurrency()));
  for (size_t i = 0; i < cpus.size(); ++i) cpus[i] = static_cast<int>(i);
  return cpus;
}

std::vector<int> stage_cpus(const std::vector<int>& allowed, int stage, int threads_per_stage) {
  if (stage < 0 || threads_per_stage < 1) return {};
  const size_t first = static_cast<size_t>(stage) * static_cast<size_t>(threads_per_stage);
  if (first + static_cast<size_t>(threads_per_stage) > allowed.size()) return {};
  return std::vector<int>(allowed.begin() + static_cast<std::ptrdiff_t>(first),
                          allowed.begin() + static_cast<std::ptrdiff_t>(first + threads_per_stage));
}

Status pin_this_thread(const std::vector<int>& cpus) {
  if (cpus.empty()) return Status::InvalidArgument("pinning: no CPUs given");
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cpus) {
    if (c < 0 || c >= CPU_SETSIZE) return Status::InvalidArgument("pinning: CPU " + std::to_string(c) + " is out of range");
    CPU_SET(c, &set);
  }
  const int err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  if (err != 0) return Status::Internal(std::string("pinning: pthread_setaffinity_np: ") + std::strerror(err));
  return Status::Ok();
}

std::vector<int> this_thread_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (pthread_getaffinity_np(pthread_self(), sizeof(set), &set) != 0) return {};
  return cpus_in(set);
}

}  // namespace paci::exec
