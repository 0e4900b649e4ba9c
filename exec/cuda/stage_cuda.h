// StageModelCuda: the GPU twin of StageModel (exec/model/stage.h). Forward, input-gradient (B) and
// weight-gradient (W) parts of a contiguous layer slice [first, last), with the weights an explicit
// argument: fp32 master weights plus, in bf16 mode, their bf16 copy that the GEMMs read. All
// pointers are device pointers; every call is asynchronous on ctx.stream. One model is used from one
// stream at a time (it owns scratch memory); distinct StageSavedCuda records may be in flight.
// AdamWCuda is the GPU twin of AdamW (exec/model/adamw.h) over the same stage span.
#pragma once

#include <cstdint>
#include <vector>

#include "exec/cuda/adamw.cuh"
#include "exec/cuda/cuda_common.h"
#include "exec/model/adamw.h"
#include "exec/model/stage.h"
#include "paci.pb.h"
#include "proto/ir_names.h"
#include "proto/status.h"

namespace paci::exec {

// What one layer's forward saved (device memory, X = activation type), and after backward_input
// the output-gradients backward_weight needs. Same fields as LayerSaved; the head keeps logits
// and then dlogits in one (N,V) buffer (`logits`), and instead of the probabilities each row's
// softmax max and 1/sum in fp32 (`ce_stats`, see crossentropy.cuh).
struct LayerSavedCuda {
  DeviceBuffer tokens, targets;                                           // int (N)
  DeviceBuffer inp, ln1, qkv, atty, att, r2, ln2, fch, fch_gelu, logits;  // X
  DeviceBuffer ln1_mean, ln1_rstd, ln2_mean, ln2_rstd, losses;            // float
  DeviceBuffer ce_stats;                         // float (2N): head only, per row max and 1/sum
  DeviceBuffer dy, dfch, dln2, dr2, dqkv, dln1;  // X, written by backward_input
  bool has_dgrads = false;
};

struct StageSavedCuda {
  int B = 0, T = 0;
  // The slice [first, last) whose forward filled it; a record is only ever reused by that slice
  // (forward checks), so its layer list is never resized and its buffers never re-sized mid-run.
  int first = -1, last = -1;
  DeviceBuffer loss;  // one float: mean cross-entropy, when the stage holds the head
  std::vector<LayerSavedCuda> layers;
  size_t bytes() const;  // device memory held
};

// Weights of one call. `bf16` is required in bf16 mode and ignored in fp32 mode; both point at the
// stage's first parameter (StageModel::param_offset() into the whole-model buffer).
struct StageWeightsCuda {
  const float* master = nullptr;
  const __nv_bfloat16* bf16 = nullptr;
};

// Device inputs of a forward: tokens when the stage holds layer 0, otherwise acts (B,T,C) of the
// activation type; targets when it holds the head. Copied into the record, so they may be reused
// once the forward has been issued and its stream has passed it.
struct StageInputCuda {
  const int* tokens = nullptr;
  const void* acts = nullptr;
  const int* targets = nullptr;
};

class StageModelCuda {
 public:
  StageModelCuda() = default;
  // Same checks as StageModel::Create.
  static Result<StageModelCuda> Create(const GPTConfig& cfg, int first, int last, ir::Precision precision);

  const StageModel& cpu() const { return cpu_; }  // layout, offsets, slice
  ir::Precision precision() const { return precision_; }
  size_t act_bytes() const { return PrecisionElementBytes(precision_); }
  // Bytes of the (B,T,C) activation or gradient message this stage sends or receives.
  size_t message_bytes(int B, int T) const {
    return static_cast<size_t>(B) * T * cpu_.config().n_embd * act_bytes();
  }

  // out: (B,T,C) of the activation type, for the next stage; unused (may be null) when the stage
  // holds the head, whose mean loss goes to saved->loss.
  void forward(const CudaContext& ctx, const StageWeightsCuda& w, const StageInputCuda& in, int B, int T,
               StageSavedCuda* saved, void* out) const;
  // dout: (B,T,C) gradient of this stage's output (device), or ignored when the stage holds the
  // head, whose loss gradient weight is dloss (1/accum, as the float StageModel reads there).
  // dinp: (B,T,C) gradient for the previous stage; null for the first stage.
  void backward_input(const CudaContext& ctx, const StageWeightsCuda& w, StageSavedCuda* saved,
                      const void* dout, float dloss, void* dinp) const;
  // grads += dLoss/dWeights (fp32, the stage's span). backward_input must have run on `saved`.
  void backward_weight(const CudaContext& ctx, StageSavedCuda* saved, float* grads) const;
  void backward(const CudaContext& ctx, const StageWeightsCuda& w, StageSavedCuda* saved, const void* dout,
                float dloss, void* dinp, float* grads) const {
    backward_input(ctx, w, saved, dout, dloss, dinp);
    backward_weight(ctx, saved, grads);
  }

 private:
  size_t offset_of(const char* name) const;  // floats from the stage's first parameter
  template <typename X>
  void forward_t(const CudaContext& ctx, const float* wm, const X* wx, const StageInputCuda& in, int B, int T,
                 StageSavedCuda* saved, X* out) const;
  template <typename X>
  void backward_input_t(const CudaContext& ctx, const float* wm, const X* wx, StageSavedCuda* saved,
                        const X* dout, float dloss, X* dinp) const;
  template <typename X>
  void backward_weight_t(const CudaContext& ctx, StageSavedCuda* saved, float* grads) const;

  StageModel cpu_;
  ir::Precision precision_ = ir::PRECISION_FP32;
  mutable DeviceBuffer scratch_;  // attention scratch + one (N,4C) temporary; see the class comment
};

// AdamW state on the device for one stage span; `step` counts updates done, as AdamW::step.
struct AdamWCuda {
  AdamWConfig cfg;
  size_t param_offset = 0;
  DeviceBuffer m, v, decay;
  int64_t step = 0;
  AdamWStateCuda state() const {
    return {m.as<float>(), v.as<float>(), decay.as<uint8_t>(), m.bytes() / sizeof(float)};
  }
};
// Zeroed moments and the decay mask of adamw_create, filled on `stream` (null: the legacy default
// stream) and waited for, so any stream may use the state once this returns.
AdamWCuda adamw_cuda_create(const AdamWConfig& cfg, const ParamLayout& layout, size_t param_offset, size_t n,
                            cudaStream_t stream);
// One update of params/grads (device, the span); refreshes params_bf16 (may be null) in the same pass.
void adamw_cuda_update(AdamWCuda* opt, float* params, const float* grads, float lr,
                       __nv_bfloat16* params_bf16, cudaStream_t stream);

// Mean loss a head stage's forward stored (waits for ctx.stream).
float stage_loss_cuda(const StageSavedCuda& saved, cudaStream_t stream);

}  // namespace paci::exec
