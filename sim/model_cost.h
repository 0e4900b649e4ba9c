// The model-and-hardware cost model: what one micro-batch costs on each layer of a GPT-2-style
// decoder (FLOPs and bytes from closed forms, docs/cost-model.md), turned into op times on a named
// device (peak FLOP/s by precision, memory bandwidth, achievable efficiency per op class), and
// the P2P link between stages. It answers "GPT-2 Medium on 8 H100s" without the hardware.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "paci.pb.h"
#include "proto/status.h"
#include "sched/layer_partition.h"

namespace paci::sim {

// Precision is the IR's (ir::Precision; names in proto/ir_names.h).
// Bytes per element: activations and weights in the compute precision; gradients the same;
// optimizer state as Megatron's mixed precision keeps it (fp32 master copy + Adam m and v).
struct PrecisionBytes {
  uint32_t activation = 4, weight = 4, gradient = 4, optimizer_state = 8;
};
PrecisionBytes BytesOf(ir::Precision p);

struct Hardware {
  std::string name;
  double peak_flops_fp32 = 0;  // FLOP/s, dense
  double peak_flops_bf16 = 0;
  double memory_bandwidth = 0;     // bytes/s
  double memory_bytes = 0;         // device memory (the partitioner's default cap)
  double matmul_efficiency = 0.5;  // achieved / peak for GEMMs
  double memory_efficiency = 0.7;  // achieved / peak bandwidth for element-wise ops
};

struct Link {
  std::string name;
  double bandwidth = 0;  // bytes/s per direction
  double latency_s = 0;
};

// Names: gpt2, gpt2-medium, gpt2-large, gpt2-xl (seq 1024, vocab 50257; untied head, as a
// pipeline holds the head's copy of the embedding on the last stage). Else a JSON file
// {"layers":..,"dim":..,"heads":..,"seq":..,"vocab":..}. Errors name the value or the key.
Result<ir::ModelShape> ModelByName(const std::string& name_or_file);
// a100, h100, h200, cpu, or a JSON file {"name", "peak_tflops_fp32", "peak_tflops_bf16",
// "memory_bandwidth_gbs" (GB/s), "memory_gb", "matmul_efficiency", "memory_efficiency"}.
Result<Hardware> HardwareByName(const std::string& name_or_file);
// nvlink4, pcie5, ib-ndr, or a JSON file {"bandwidth_gbs" (GB/s), "latency_us"}.
Result<Link> LinkByName(const std::string& name_or_file);
// The three file forms from their text; `source` names the file in errors (what the *ByName
// functions call after reading one; the fuzz target tests/fuzz/fuzz_model_files.cc calls them).
Result<ir::ModelShape> ModelFromJson(const std::string& text, const std::string& source);
Result<Hardware> HardwareFromJson(const std::string& text, const std::string& source);
Result<Link> LinkFromJson(const std::string& text, const std::string& source);
// The ranges of a hardware or link file's numbers (beyond them the unit conversions and the op
// times computed from them stop being finite or meaningful; issue 25). Every number must also be
// finite and > 0 (memory_gb and latency_us >= 0); efficiencies are in (0, 1]. A file is at most
// kMaxInputFileBytes (sched/bounded_file.h) and must be a regular file.
inline constexpr double kMaxPeakTflops = 1e6;    // 1 EFLOP/s per device
inline constexpr double kMaxBandwidthGBs = 1e6;  // 1 PB/s, memory or link
inline constexpr double kMaxMemoryGB = 1e6;
inline constexpr double kMaxLatencyUs = 1e9;  // 1000 s per message
// The preset names each of the three accepts (besides a file), in the order a menu lists them.
std::vector<std::string> ModelNames();
std::vector<std::string> HardwareNames();
std::vector<std::string> LinkNames();

// Checks a model shape; the message names the field (--layers, --dim, ...).
Status ValidateModelShape(const ir::ModelShape& m);

// Blocks a model may have (so that layer indices fit an int).
inline constexpr uint32_t kMaxModelLayers = 1u << 20;
// Checks that the sizes the cost model computes for one micro-batch of `microbatch` sequences
// (parameters of a layer, a block's activations, the head's logits) stay within kMaxBytes
// (sched/limits.h), so no byte count or FLOP-to-integer conversion can overflow.
Status CheckModelSize(const ir::ModelShape& m, uint32_t microbatch);

// Per layer and micro-batch: GEMM FLOPs and element-wise bytes of each op, and the layer's bytes.
struct LayerWork {
  double forward_flops = 0, backward_input_flops = 0, backward_weight_flops = 0;
  double forward_bytes = 0, backward_input_bytes = 0, backward_weight_bytes = 0, optimizer_bytes = 0;
  uint64_t params = 0;
  uint64_t activation_bytes = 0;  // Korthikanti et al. 2022, no recomputation
  uint64_t message_bytes = 0;     // B*T*C*dtype (the layer's output)
};

int NumLayers(const ir::ModelShape& m);  // layers + 2: embedding, blocks, head
uint64_t LayerParams(const ir::ModelShape& m, int layer);
// Closed forms (docs/cost-model.md). A block's forward is 24BTC^2 + 4BT^2C FLOPs.
LayerWork LayerWorkOf(const ir::ModelShape& m, int layer, uint32_t microbatch, ir::Precision p);
// Activation bytes of one transformer block, Korthikanti et al. eq. for no recomputation
// generalised to `act` bytes per element: sbh(16 act + 2) + a s^2 b (2 act + 1) (34sbh + 5as^2b
// at act = 2). Dropout masks are one byte.
uint64_t BlockActivationBytes(uint64_t s, uint64_t b, uint64_t h, uint64_t a, uint64_t act);

// Costs of every layer for one micro-batch: times in ns and bytes. Both the hardware model and a
// measured profile reduce to this, and the partitioner and BuildCostModel work from it.
struct LayerCost {
  double forward_ns = 0, backward_input_ns = 0, backward_weight_ns = 0, optimizer_ns = 0;
  // With caches cold (a profile's *_cold_ns; 0: not measured, the times above hold throughout).
  double forward_cold_ns = 0, backward_input_cold_ns = 0, backward_weight_cold_ns = 0;
  uint64_t activation_bytes = 0, weight_bytes = 0, gradient_bytes = 0, optimizer_state_bytes = 0;
  uint64_t message_bytes = 0;
  double compute_ns() const { return forward_ns + backward_input_ns + backward_weight_ns; }
};

// Op time = FLOPs / (peak x matmul efficiency) + bytes / (bandwidth x memory efficiency).
std::vector<LayerCost> LayerCostsOnHardware(const ir::ModelShape& m, uint32_t microbatch, ir::Precision p,
                                            const Hardware& hw);
// `hw` with its two efficiencies fitted to a measured profile (least squares over every layer's
// forward, backward-input and backward-weight time: time = FLOPs / (peak x e_matmul) + bytes /
// (bandwidth x e_memory)). The profile may be of any model: the fit is per op class, so a small
// model profiled here calibrates the device for a large one. Error when the fit is degenerate.
Result<Hardware> CalibrateHardware(const Hardware& hw, const ir::Profile& profile);

// The measured costs of a profile (its model and micro-batch are the profile's).
std::vector<LayerCost> LayerCostsFromProfile(const ir::Profile& profile);

// A contiguous split of the layer list: slices[v] = [first, last) of virtual stage v. The
// partitioner (PartitionLayers, kMaxPartitionSteps) is sched/layer_partition.h, shared with exec.
using paci::LayerSlice;

// What the partitioner minimises and caps, per layer: compute time (F + B + W) in ns, weights +
// gradients + optimizer state, and activation bytes per micro-batch in flight.
std::vector<LayerLoad> LayerLoads(const std::vector<LayerCost>& layers);

// Micro-batches a virtual stage holds in flight under `spec` (the schedule's window: P - s for
// the 1F1B family, M for GPipe), for the partitioner's memory check.
std::vector<uint32_t> InflightPerVirtualStage(const ir::PipelineSpec& spec);

// How far a stage's ops sit from the profile's hot times towards its cold ones (ColdCacheWeights):
// t = hot + w (cold - hot), w in [-1, 1], below 0 hotter than the profile's hot point.
struct CacheWeight {
  double records = 0;       // forward, backward and backward-input
  double weight_grads = 0;  // backward-weight
  bool operator==(const CacheWeight&) const = default;
};

// The simulator's cost model for `slices` (P x V of them; stage s holds slices s, s+P, ...): the
// sums of the layers' costs per stage, `link` between stages, tokens per micro-batch. `cold`
// (empty: all hot) places each stage's times between its hot and cold ones (ColdCacheWeights).
ir::CostModel BuildCostModel(const std::vector<LayerCost>& layers, const std::vector<LayerSlice>& slices,
                             uint32_t stages, const Link& link, uint64_t tokens_per_microbatch,
                             const std::vector<CacheWeight>& cold = {});

// The cache model (docs/cost-model.md, "Caches"): a profile times every op hot, cycling through
// one record of every layer's activations (hot_working_set_bytes, W), and cold, through many. A
// stage whose micro-batches in flight hold W_s bytes of activations (InflightPerVirtualStage x
// its slices' bytes) runs at w = clamp((W_s - W) / W, -1, 1) of the way from hot to cold: hot
// when it cycles through what the hot timings did, cold from twice that, and hotter than hot
// below it (a stage holding half of W: w = -1/2). A split backward's weight gradient (ZB-H1's W)
// is cold whatever the stage holds: it reads what its I wrote ops before. All 0 when the profile
// has no cold times.
std::vector<CacheWeight> ColdCacheWeights(const ir::Profile& profile, const std::vector<LayerCost>& layers,
                                          const std::vector<LayerSlice>& slices,
                                          const ir::PipelineSpec& spec);

// All stages on device 0, slowed by the profile's co-location factors (sorted by stage count),
// each at least n / Profile.cpus for n stages busy (no more CPUs than the profile's process had).
// With more stages than CPUs and a factor measured for them with op_stretch, they take turns
// instead: one slot per CPU (CostModel.device_slots), every op at that stretch.
void ShareOneDevice(const ir::Profile& profile, ir::CostModel* cost);

// Everything needed to cost any schedule of one model on one kind of device: the layers' costs
// (from hardware or from a profile), the link, the per-stage memory cap, co-location.
struct ModelCostSetup {
  ir::ModelShape model;
  uint32_t microbatch = 0;
  std::vector<LayerCost> layers;
  Link link;
  double memory_cap_bytes = 0;  // 0: no cap
  bool colocate = false;        // every stage on one device, slowed by `profile`'s factors
  ir::Profile profile;          // when the costs come from a profile
};

// The layer split for `spec`: P x V slices under the cap (what CostModelForSpec builds from).
Result<std::vector<LayerSlice>> SlicesForSpec(const ModelCostSetup& setup, const ir::PipelineSpec& spec);
// Partitions the layers for `spec` (SlicesForSpec) and builds its cost model.
Result<ir::CostModel> CostModelForSpec(const ModelCostSetup& setup, const ir::PipelineSpec& spec);
// The same for a given split (e.g. the one a measured run used).
ir::CostModel CostModelForSlices(const ModelCostSetup& setup, const std::vector<LayerSlice>& slices,
                                 const ir::PipelineSpec& spec);

}  // namespace paci::sim
