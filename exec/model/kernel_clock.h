// Where a training step's time goes, per kernel class (`train_step_bench --breakdown`). A thread
// opts in with KernelClockScope; the kernels it then calls add their CPU time and arithmetic to
// its table. Off by default: a kernel call costs one thread_local pointer test.
#pragma once

namespace paci::exec {

enum class KernelOp : int {
  kGemmForward,         // linear layers, forward
  kGemmBackwardInput,   // linear layers, dX
  kGemmBackwardWeight,  // linear layers, dW and db
  kAttentionForward,    // scores, causal softmax, probs x V
  kAttentionBackward,
  kLayerNorm,           // forward and both backward parts
  kGelu,                // forward and backward
  kCrossEntropy,        // softmax + loss, and its backward
  kEmbedding,           // forward and backward
  kOptimizer,           // gradient norm, clipping, AdamW
  kCount
};
const char* kernel_op_name(KernelOp op);

struct KernelTimes {
  double seconds[static_cast<int>(KernelOp::kCount)] = {};  // CPU time of the calling thread
  double flops[static_cast<int>(KernelOp::kCount)] = {};    // multiply-adds count 2
  long calls[static_cast<int>(KernelOp::kCount)] = {};
};

// While alive, kernels called on this thread add into *times (not owned). Not nestable.
class KernelClockScope {
 public:
  explicit KernelClockScope(KernelTimes* times);
  ~KernelClockScope();
  KernelClockScope(const KernelClockScope&) = delete;
  KernelClockScope& operator=(const KernelClockScope&) = delete;
};

// Times one kernel call from construction to destruction (a no-op outside a KernelClockScope).
class KernelTimer {
 public:
  KernelTimer(KernelOp op, double flops);
  ~KernelTimer();
  KernelTimer(const KernelTimer&) = delete;
  KernelTimer& operator=(const KernelTimer&) = delete;

 private:
  KernelTimes* times_;
  KernelOp op_;
  double flops_;
  double start_ = 0.0;
};

// CPU seconds the calling thread has used (CLOCK_THREAD_CPUTIME_ID): unlike wall time, it does not
// grow while other processes hold the core.
double thread_cpu_seconds();
// CPU seconds the whole process has used, every thread together.
double process_cpu_seconds();

}  // namespace paci::exec
