// CPU affinity for stage threads: the cores this process may run on, and pinning one stage's
// thread to its own share of them, so that P stages x T kernel threads on at least P x T cores
// never share a core. The OpenMP workers a pinned thread starts later inherit its mask.
#pragma once

#include <vector>

#include "proto/status.h"

namespace paci::exec {

// The CPUs this process may run on (sched_getaffinity: taskset, cpusets and cgroups included),
// in increasing order. Never empty: falls back to CPU 0 .. hardware_concurrency-1 if the call fails.
std::vector<int> allowed_cpus();

// Stage `stage`'s share: `threads_per_stage` consecutive entries of `allowed`, or empty when the
// stages do not fit without sharing (stage + 1) x threads_per_stage > allowed.size().
std::vector<int> stage_cpus(const std::vector<int>& allowed, int stage, int threads_per_stage);

// Restricts the calling thread (and the threads it creates afterwards) to `cpus`.
Status pin_this_thread(const std::vector<int>& cpus);

// The calling thread's CPUs, as the kernel reports them (for logs and tests).
std::vector<int> this_thread_cpus();

}  // namespace paci::exec
