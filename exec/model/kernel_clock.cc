// See kernel_clock.h.
#include "exec/model/kernel_clock.h"

#include <time.h>

namespace paci::exec {

namespace {
// The opted-in table of this thread; per thread, so stage threads never share it.
thread_local KernelTimes* tl_times = nullptr;

double clock_seconds(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}
}  // namespace

const char* kernel_op_name(KernelOp op) {
  switch (op) {
    case KernelOp::kGemmForward: return "gemm forward";
    case KernelOp::kGemmBackwardInput: return "gemm backward dX";
    case KernelOp::kGemmBackwardWeight: return "gemm backward dW";
    case KernelOp::kAttentionForward: return "attention forward";
    case KernelOp::kAttentionBackward: return "attention backward";
    case KernelOp::kLayerNorm: return "layernorm";
    case KernelOp::kGelu: return "gelu";
    case KernelOp::kCrossEntropy: return "softmax+cross-entropy";
    case KernelOp::kEmbedding: return "embedding";
    case KernelOp::kOptimizer: return "optimizer (norm, clip, AdamW)";
    case KernelOp::kCount: break;
  }
  return "?";
}

KernelClockScope::KernelClockScope(KernelTimes* times) { tl_times = times; }
KernelClockScope::~KernelClockScope() { tl_times = nullptr; }

KernelTimer::KernelTimer(KernelOp op, double flops) : times_(tl_times), op_(op), flops_(flops) {
  if (times_ != nullptr) start_ = thread_cpu_seconds();
}

KernelTimer::~KernelTimer() {
  if (times_ == nullptr) return;
  const int i = static_cast<int>(op_);
  times_->seconds[i] += thread_cpu_seconds() - start_;
  times_->flops[i] += flops_;
  times_->calls[i]++;
}

double thread_cpu_seconds() { return clock_seconds(CLOCK_THREAD_CPUTIME_ID); }
double process_cpu_seconds() { return clock_seconds(CLOCK_PROCESS_CPUTIME_ID); }

}  // namespace paci::exec
