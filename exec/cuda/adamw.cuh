// AdamW update on the GPU over one stage's fp32 parameter span. CPU reference: adamw_update in
// exec/model/adamw.h (same order: decoupled decay first, then the Adam step; bias corrections computed on
// the host exactly as there). Optionally refreshes the bf16 copy the bf16 GEMMs read, in the same pass.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "exec/model/adamw.h"

namespace paci::exec {

// Moments and decay mask of an AdamW, in device memory. Owns nothing: see AdamWCuda in stage_cuda.h.
struct AdamWStateCuda {
  float* m = nullptr;
  float* v = nullptr;
  const uint8_t* decay = nullptr;  // 1 where weight decay applies
  size_t n = 0;
};

// `step` is the update number after increment (1 for the first update), as opt->step in adamw_update.
// params_bf16 may be null; otherwise it receives the updated parameters rounded to bf16.
void adamw_update_cuda(const AdamWStateCuda& state, const AdamWConfig& cfg, int64_t step, float* params,
                       const float* grads, float lr, __nv_bfloat16* params_bf16, cudaStream_t stream);

}  // namespace paci::exec
