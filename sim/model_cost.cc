#include "sim/model_cost.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "proto/ir_names.h"
#include "sched/bounded_file.h"
#include "sched/limits.h"
#include "sched/pipeline_spec.h"

namespace paci::sim {
namespace {

Result<nlohmann::json> ParseJsonObject(const std::string& text, const std::string& source) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument(source + ": not a JSON object");
  return j;
}

Result<std::string> ReadJsonFile(const std::string& path, const std::string& what) {
  Result<std::string> text =
      ReadBoundedFile(path, kMaxInputFileBytes, "kMaxInputFileBytes (sched/bounded_file.h)");
  if (!text.ok() && text.status().code() == Status::Code::kNotFound)
    return Status::InvalidArgument(what + " '" + path + "' is neither a known name nor a readable file");
  if (!text.ok()) return Status::InvalidArgument(what + ": " + text.status().message());
  return text;
}

// Reads key `k` of `j` as a finite number in (0, max] (or [0, max] when zero_ok); errors name
// file and key. The upper bounds keep the unit conversions (x 1e12, x 1e9) and the op times
// computed from them finite (issue 25: 1e308 TFLOP/s gave zero compute time).
Status ReadNumber(const nlohmann::json& j, const std::string& path, const std::string& k, double* out,
                  bool required, bool zero_ok = false, double max = 1e7) {
  if (!j.contains(k)) return required ? Status::InvalidArgument(path + ": " + k + ": missing") : Status::Ok();
  const nlohmann::json& v = j.at(k);
  const double x = v.is_number() ? v.get<double>() : NAN;
  if (!std::isfinite(x) || x < 0 || (!zero_ok && x == 0) || x > max)
    return Status::InvalidArgument(path + ": " + k + ": must be a number " + (zero_ok ? ">= 0" : "> 0") +
                                   " and <= " + nlohmann::json(max).dump() + ", got " + v.dump());
  *out = x;
  return Status::Ok();
}

// Key `k` of `j` as a string (`fallback` when absent); a number or object there is bad input
// naming file and key, not an "internal error" from the JSON library's type_error.
Result<std::string> ReadString(const nlohmann::json& j, const std::string& path, const std::string& k,
                               const std::string& fallback) {
  if (!j.contains(k)) return fallback;
  if (!j.at(k).is_string())
    return Status::InvalidArgument(path + ": " + k + ": must be a string, got " + j.at(k).dump());
  return j.at(k).get<std::string>();
}

Status CheckKeys(const nlohmann::json& j, const std::string& path, std::initializer_list<const char*> keys) {
  for (const auto& item : j.items()) {
    // A named copy, not a structured binding: clang 14 (the fuzz build) cannot capture those.
    const std::string& k = item.key();
    if (std::none_of(keys.begin(), keys.end(), [&](const char* known) { return k == known; }))
      return Status::InvalidArgument(path + ": unknown key '" + k + "'");
  }
  return Status::Ok();
}

ir::ModelShape Shape(uint32_t layers, uint32_t dim, uint32_t heads) {
  ir::ModelShape m;
  m.set_layers(layers);
  m.set_dim(dim);
  m.set_heads(heads);
  m.set_seq(1024);
  m.set_vocab(50257);
  return m;
}

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

}  // namespace

PrecisionBytes BytesOf(ir::Precision p) {
  if (p != ir::PRECISION_BF16) return PrecisionBytes{4, 4, 4, 8};  // weights, grads, Adam m + v
  return PrecisionBytes{2, 2, 2, 12};                              // + fp32 master copy, m, v
}

Status ValidateModelShape(const ir::ModelShape& m) {
  const std::pair<const char*, uint32_t> fields[] = {{"--layers", m.layers()},
                                                     {"--dim", m.dim()},
                                                     {"--heads", m.heads()},
                                                     {"--seq", m.seq()},
                                                     {"--vocab", m.vocab()}};
  for (const auto& [name, v] : fields)
    if (v == 0) return Status::InvalidArgument(std::string(name) + ": must be > 0");
  if (m.dim() % m.heads() != 0)
    return Status::InvalidArgument("--heads: " + std::to_string(m.heads()) + " does not divide --dim " +
                                   std::to_string(m.dim()));
  return Status::Ok();
}

Status CheckModelSize(const ir::ModelShape& m, uint32_t microbatch) {
  if (m.layers() > kMaxModelLayers)
    return Status::InvalidArgument("--layers: at most " + std::to_string(kMaxModelLayers) +
                                   " (kMaxModelLayers, sim/model_cost.h)");
  // In doubles, with the widest precision's bytes: fp32 activations, logits and softmax.
  const double B = microbatch, T = m.seq(), C = m.dim(), V = m.vocab(), A = m.heads();
  const std::pair<const char*, double> sizes[] = {
      {"a block's parameters", 12 * C * C + 13 * C},
      {"the embedding's parameters", V * C + T * C},
      {"a block's activations", T * B * C * 66 + A * T * T * B * 9},
      {"the head's logits", B * T * V * 8 + B * T * C * 4}};
  for (const auto& [what, bytes] : sizes)
    if (bytes > static_cast<double>(kMaxBytes))
      return Status::InvalidArgument("the model is too large: " + std::string(what) + " would take " +
                                     std::to_string(bytes) + " bytes at micro-batch size " +
                                     std::to_string(microbatch) + ", more than " + std::to_string(kMaxBytes) +
                                     " (kMaxBytes, sched/limits.h)");
  return Status::Ok();
}

namespace {

// The named models, smallest first.
const std::vector<std::pair<std::string, ir::ModelShape>>& ModelPresets() {
  static const std::vector<std::pair<std::string, ir::ModelShape>> kModels = {
      {"gpt2", Shape(12, 768, 12)},
      {"gpt2-medium", Shape(24, 1024, 16)},
      {"gpt2-large", Shape(36, 1280, 20)},
      {"gpt2-xl", Shape(48, 1600, 25)}};
  return kModels;
}

// Nominal vendor figures (dense, no sparsity): A100 SXM 80 GB, H100 SXM5, H200 SXM; "cpu" is a
// generic two-core AVX2 box. Efficiencies are typical achieved fractions; a profile calibrates them.
const std::vector<Hardware>& HardwarePresets() {
  static const std::vector<Hardware> kHardware = {{"a100", 19.5e12, 312e12, 2.039e12, 80 * kGiB, 0.6, 0.7},
                                                  {"h100", 66.9e12, 989.4e12, 3.35e12, 80 * kGiB, 0.6, 0.7},
                                                  {"h200", 66.9e12, 989.4e12, 4.8e12, 141e9, 0.6, 0.7},
                                                  {"cpu", 1.0e11, 1.0e11, 2.0e10, 16 * kGiB, 0.5, 0.5}};
  return kHardware;
}

// Per direction: NVLink 4 (H100 SXM, 900 GB/s both ways), PCIe 5.0 x16, InfiniBand NDR 400 Gbit/s.
const std::vector<Link>& LinkPresets() {
  static const std::vector<Link> kLinks = {
      {"nvlink4", 450e9, 5e-6}, {"pcie5", 64e9, 10e-6}, {"ib-ndr", 50e9, 5e-6}};
  return kLinks;
}

// "a, b, c, or a JSON file": what a name may be, for error messages.
std::string Choices(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += n + ", ";
  return out + "or a JSON file";
}

// The text of the description file `name` for --`what`. A bare word (no '/' or '.') is a
// mistyped preset rather than a file, so it is refused naming the presets.
Result<std::string> DescriptionFile(const std::string& name, const std::string& what,
                                    const std::vector<std::string>& presets) {
  if (name.find('/') == std::string::npos && name.find('.') == std::string::npos)
    return Status::InvalidArgument("--" + what + ": unknown " + what + " '" + name + "' (" +
                                   Choices(presets) + ")");
  return ReadJsonFile(name, "--" + what);
}

}  // namespace

std::vector<std::string> ModelNames() {
  std::vector<std::string> out;
  for (const auto& [name, shape] : ModelPresets()) out.push_back(name);
  return out;
}

std::vector<std::string> HardwareNames() {
  std::vector<std::string> out;
  for (const Hardware& h : HardwarePresets()) out.push_back(h.name);
  return out;
}

std::vector<std::string> LinkNames() {
  std::vector<std::string> out;
  for (const Link& l : LinkPresets()) out.push_back(l.name);
  return out;
}

Result<ir::ModelShape> ModelByName(const std::string& name) {
  for (const auto& [preset, shape] : ModelPresets())
    if (preset == name) return shape;
  Result<std::string> text = DescriptionFile(name, "model", ModelNames());
  if (!text.ok()) return text.status();
  return ModelFromJson(*text, name);
}

Result<ir::ModelShape> ModelFromJson(const std::string& text, const std::string& name) {
  Result<nlohmann::json> j = ParseJsonObject(text, name);
  if (!j.ok()) return j.status();
  PACI_RETURN_IF_ERROR(CheckKeys(*j, name, {"layers", "dim", "heads", "seq", "vocab", "tie"}));
  double v[5] = {0, 0, 0, 1024, 50257};
  const char* keys[5] = {"layers", "dim", "heads", "seq", "vocab"};
  for (int i = 0; i < 5; ++i) {
    PACI_RETURN_IF_ERROR(ReadNumber(*j, name, keys[i], &v[i], i < 3));
    if (v[i] != std::floor(v[i]) || v[i] > 1e7)
      return Status::InvalidArgument(name + ": " + keys[i] + ": must be a whole number");
  }
  ir::ModelShape m;
  m.set_layers(static_cast<uint32_t>(v[0]));
  m.set_dim(static_cast<uint32_t>(v[1]));
  m.set_heads(static_cast<uint32_t>(v[2]));
  m.set_seq(static_cast<uint32_t>(v[3]));
  m.set_vocab(static_cast<uint32_t>(v[4]));
  if (j->contains("tie") && !j->at("tie").is_boolean())
    return Status::InvalidArgument(name + ": tie: must be true or false, got " + j->at("tie").dump());
  m.set_tie(j->value("tie", false));
  Status st = ValidateModelShape(m);
  if (!st.ok()) return Status::InvalidArgument(name + ": " + st.message());
  return m;
}

Result<Hardware> HardwareByName(const std::string& name) {
  for (const Hardware& h : HardwarePresets())
    if (h.name == name) return h;
  Result<std::string> text = DescriptionFile(name, "hardware", HardwareNames());
  if (!text.ok()) return text.status();
  return HardwareFromJson(*text, name);
}

Result<Hardware> HardwareFromJson(const std::string& text, const std::string& name) {
  Result<nlohmann::json> j = ParseJsonObject(text, name);
  if (!j.ok()) return j.status();
  PACI_RETURN_IF_ERROR(CheckKeys(*j, name,
                                 {"name", "peak_tflops_fp32", "peak_tflops_bf16", "memory_bandwidth_gbs",
                                  "memory_gb", "matmul_efficiency", "memory_efficiency"}));
  Hardware hw;
  Result<std::string> label = ReadString(*j, name, "name", name);
  if (!label.ok()) return label.status();
  hw.name = *label;
  double fp32 = 0, bf16 = 0, bw = 0, mem = 0;
  PACI_RETURN_IF_ERROR(ReadNumber(*j, name, "peak_tflops_fp32", &fp32, true, false, kMaxPeakTflops));
  bf16 = fp32;
  PACI_RETURN_IF_ERROR(ReadNumber(*j, name, "peak_tflops_bf16", &bf16, false, false, kMaxPeakTflops));
  PACI_RETURN_IF_ERROR(ReadNumber(*j, name, "memory_bandwidth_gbs", &bw, true, false, kMaxBandwidthGBs));
  PACI_RETURN_IF_ERROR(ReadNumber(*j, name, "memory_gb", &mem, false, true, kMaxMemoryGB));
  PACI_RETURN_IF_ERROR(ReadNumber(*j, name, "matmul_efficiency", &hw.matmul_efficiency, false));
  PACI_RETURN_IF_ERROR(ReadNumber(*j, name, "memory_efficiency", &hw.memory_efficiency, false));
  if (hw.matmul_efficiency > 1 || hw.memory_efficiency > 1)
    return Status::InvalidArgument(name + ": efficiencies must be in (0, 1]");
  hw.peak_flops_fp32 = fp32 * 1e12;
  hw.peak_flops_bf16 = bf16 * 1e12;
  hw.memory_bandwidth = bw * 1e9;
  hw.memory_bytes = mem * kGiB;
  return hw;
}

Result<Link> LinkByName(const std::string& name) {
  for (const Link& l : LinkPresets())
    if (l.name == name) return l;
  Result<std::string> text = DescriptionFile(name, "link", LinkNames());
  if (!text.ok()) return text.status();
  return LinkFromJson(*text, name);
}

Result<Link> LinkFromJson(const std::string& text, const std::string& name) {
  Result<nlohmann::json> j = ParseJsonObject(text, name);
  if (!j.ok()) return j.status();
  PACI_RETURN_IF_ERROR(CheckKeys(*j, name, {"name", "bandwidth_gbs", "latency_us"}));
  double bw = 0, lat = 0;
  PACI_RETURN_IF_ERROR(ReadNumber(*j, name, "bandwidth_gbs", &bw, true, false, kMaxBandwidthGBs));
  PACI_RETURN_IF_ERROR(ReadNumber(*j, name, "latency_us", &lat, false, true, kMaxLatencyUs));
  Result<std::string> label = ReadString(*j, name, "name", name);
  if (!label.ok()) return label.status();
  return Link{*label, bw * 1e9, lat * 1e-6};
}

int NumLayers(const ir::ModelShape& m) { return static_cast<int>(m.layers()) + 2; }

uint64_t LayerParams(const ir::ModelShape& m, int layer) {
  const uint64_t C = m.dim(), V = m.vocab(), T = m.seq();
  if (layer == 0) return V * C + T * C;                                   // wte, wpe
  if (layer <= static_cast<int>(m.layers())) return 12 * C * C + 13 * C;  // see docs/cost-model.md
  return 2 * C + (m.tie() ? 0 : V * C);                                   // ln_f, lm_head
}

uint64_t BlockActivationBytes(uint64_t s, uint64_t b, uint64_t h, uint64_t a, uint64_t act) {
  return s * b * h * (16 * act + 2) + a * s * s * b * (2 * act + 1);
}

LayerWork LayerWorkOf(const ir::ModelShape& m, int layer, uint32_t microbatch, ir::Precision p) {
  const PrecisionBytes pb = BytesOf(p);
  const double B = microbatch, T = m.seq(), C = m.dim(), V = m.vocab();
  const uint64_t btc = static_cast<uint64_t>(microbatch) * m.seq() * m.dim();
  LayerWork w;
  w.params = LayerParams(m, layer);
  w.message_bytes = btc * pb.activation;
  const double weights = static_cast<double>(w.params) * pb.weight;
  if (layer == 0) {
    // Gather rows of wte and wpe; the backward scatters the output gradient into them.
    w.activation_bytes = btc;  // embedding dropout mask
    w.forward_bytes = 3.0 * static_cast<double>(w.message_bytes);
    w.backward_weight_bytes = 3.0 * static_cast<double>(w.message_bytes);
  } else if (layer <= static_cast<int>(m.layers())) {
    w.forward_flops = 24 * B * T * C * C + 4 * B * T * T * C;
    w.backward_input_flops = 24 * B * T * C * C + 8 * B * T * T * C;
    w.backward_weight_flops = 24 * B * T * C * C;
    w.activation_bytes = BlockActivationBytes(m.seq(), microbatch, m.dim(), m.heads(), pb.activation);
    const double act = static_cast<double>(w.activation_bytes);
    w.forward_bytes = act + weights;             // each saved tensor written once
    w.backward_input_bytes = 2 * act + weights;  // read it, write its gradient
    w.backward_weight_bytes = act + 2.0 * static_cast<double>(w.params) * pb.gradient;
  } else {
    w.forward_flops = 2 * B * T * C * V;
    w.backward_input_flops = 2 * B * T * C * V;
    w.backward_weight_flops = 2 * B * T * C * V;
    // ln_f input in the compute precision, logits and softmax in fp32 (the loss is computed in fp32).
    w.activation_bytes = btc * pb.activation + static_cast<uint64_t>(B * T * V) * 4 * 2;
    const double logits = B * T * V * 4;
    w.forward_bytes = 3 * logits + weights;
    w.backward_input_bytes = 2 * logits + weights;
    w.backward_weight_bytes = logits + 2.0 * static_cast<double>(w.params) * pb.gradient;
  }
  // AdamW reads weights, gradients and state and writes weights and state.
  w.optimizer_bytes =
      static_cast<double>(w.params) * (2.0 * pb.weight + pb.gradient + 2.0 * pb.optimizer_state);
  return w;
}

std::vector<LayerCost> LayerCostsOnHardware(const ir::ModelShape& m, uint32_t microbatch, ir::Precision p,
                                            const Hardware& hw) {
  const PrecisionBytes pb = BytesOf(p);
  const double flops =
      (p != ir::PRECISION_BF16 ? hw.peak_flops_fp32 : hw.peak_flops_bf16) * hw.matmul_efficiency;
  const double bw = hw.memory_bandwidth * hw.memory_efficiency;
  auto ns = [&](double f, double bytes) { return (f / flops + bytes / bw) * 1e9; };
  std::vector<LayerCost> out;
  for (int l = 0; l < NumLayers(m); ++l) {
    const LayerWork w = LayerWorkOf(m, l, microbatch, p);
    LayerCost c;
    c.forward_ns = ns(w.forward_flops, w.forward_bytes);
    c.backward_input_ns = ns(w.backward_input_flops, w.backward_input_bytes);
    c.backward_weight_ns = ns(w.backward_weight_flops, w.backward_weight_bytes);
    c.optimizer_ns = ns(0, w.optimizer_bytes);
    c.activation_bytes = w.activation_bytes;
    c.weight_bytes = w.params * pb.weight;
    c.gradient_bytes = w.params * pb.gradient;
    c.optimizer_state_bytes = w.params * pb.optimizer_state;
    c.message_bytes = w.message_bytes;
    out.push_back(c);
  }
  return out;
}

Result<Hardware> CalibrateHardware(const Hardware& hw, const ir::Profile& profile) {
  const std::optional<ir::Precision> p = ParsePrecisionName(profile.precision());
  if (!p)
    return Status::InvalidArgument("--precision: must be fp32 or bf16, not '" + profile.precision() + "'");
  const double flops = *p == ir::PRECISION_FP32 ? hw.peak_flops_fp32 : hw.peak_flops_bf16;
  // Unknowns x = 1 / e_matmul, y = 1 / e_memory; sample i: t_i = x f_i + y m_i with f_i the time at
  // peak FLOP/s and m_i the time at peak bandwidth. Normal equations of the 2 x 2 least squares.
  double ff = 0, fm = 0, mm = 0, ft = 0, mt = 0;
  for (int l = 0; l < profile.layers_size(); ++l) {
    const LayerWork w = LayerWorkOf(profile.model(), l, profile.microbatch_size(), *p);
    const ir::LayerProfile& lp = profile.layers(l);
    const std::pair<double, double> work[] = {{w.forward_flops, w.forward_bytes},
                                              {w.backward_input_flops, w.backward_input_bytes},
                                              {w.backward_weight_flops, w.backward_weight_bytes}};
    const double measured[] = {lp.forward_ns(), lp.backward_input_ns(), lp.backward_weight_ns()};
    for (int k = 0; k < 3; ++k) {
      const double f = work[k].first / flops * 1e9, m = work[k].second / hw.memory_bandwidth * 1e9;
      ff += f * f;
      fm += f * m;
      mm += m * m;
      ft += f * measured[k];
      mt += m * measured[k];
    }
  }
  const double det = ff * mm - fm * fm;
  if (!(det > 1e-12 * ff * mm))
    return Status::InvalidArgument("--calibrate: the profile cannot separate GEMM from memory time");
  double x = (ft * mm - mt * fm) / det, y = (ff * mt - fm * ft) / det;
  // A term that comes out <= 0 cannot be told apart in this profile: keep that class's preset
  // efficiency and fit the other alone.
  if (x <= 0) {
    x = 1.0 / hw.matmul_efficiency;
    y = (mt - x * fm) / mm;
  } else if (y <= 0) {
    y = 1.0 / hw.memory_efficiency;
    x = (ft - y * fm) / ff;
  }
  if (!(x > 0) || !(y > 0))
    return Status::InvalidArgument(
        "--calibrate: the profile's times do not fit the model (a term came out <= 0)");
  Hardware out = hw;
  out.matmul_efficiency = 1.0 / x;
  out.memory_efficiency = 1.0 / y;
  out.name = hw.name + " (calibrated)";
  return out;
}

std::vector<LayerCost> LayerCostsFromProfile(const ir::Profile& profile) {
  std::vector<LayerCost> out;
  for (const ir::LayerProfile& l : profile.layers()) {
    LayerCost c;
    c.forward_ns = l.forward_ns();
    c.backward_input_ns = l.backward_input_ns();
    c.backward_weight_ns = l.backward_weight_ns();
    c.optimizer_ns = l.optimizer_ns();
    if (profile.cold_records() > 0) {
      c.forward_cold_ns = l.forward_cold_ns();
      c.backward_input_cold_ns = l.backward_input_cold_ns();
      c.backward_weight_cold_ns = l.backward_weight_cold_ns();
    }
    c.activation_bytes = l.activation_bytes();
    c.weight_bytes = l.weight_bytes();
    c.gradient_bytes = l.gradient_bytes();
    c.optimizer_state_bytes = l.optimizer_state_bytes();
    c.message_bytes = l.message_bytes();
    out.push_back(c);
  }
  return out;
}

std::vector<uint32_t> InflightPerVirtualStage(const ir::PipelineSpec& spec) {
  const uint32_t P = spec.stages(), V = std::max<uint32_t>(1, spec.chunks());
  std::vector<uint32_t> out(size_t{P} * V, 1);
  for (uint32_t v = 0; v < P * V; ++v) {
    const uint32_t s = v % P;
    uint32_t n = static_cast<uint32_t>(spec.window_size()) > s ? spec.window(static_cast<int>(s)) : P - s;
    if (spec.kind() == ir::GPIPE) n = std::max<uint32_t>(1, spec.microbatches_per_iteration());
    if (V > 1) n = P * V - v;  // interleaved: warm-up depth of the virtual stage
    out[v] = std::max<uint32_t>(1, n);
  }
  return out;
}

std::vector<LayerLoad> LayerLoads(const std::vector<LayerCost>& layers) {
  std::vector<LayerLoad> out;
  out.reserve(layers.size());
  for (const LayerCost& c : layers)
    out.push_back({c.compute_ns(),
                   static_cast<double>(c.weight_bytes + c.gradient_bytes + c.optimizer_state_bytes),
                   static_cast<double>(c.activation_bytes)});
  return out;
}

std::vector<CacheWeight> ColdCacheWeights(const ir::Profile& profile, const std::vector<LayerCost>& layers,
                                          const std::vector<LayerSlice>& slices,
                                          const ir::PipelineSpec& spec) {
  const uint32_t P = spec.stages();
  std::vector<CacheWeight> w(P);
  const double hot = static_cast<double>(profile.hot_working_set_bytes());
  if (profile.cold_records() == 0 || hot <= 0) return w;
  const std::vector<uint32_t> inflight = InflightPerVirtualStage(spec);
  std::vector<double> bytes(P, 0.0);
  for (size_t v = 0; v < slices.size() && v < inflight.size(); ++v)
    for (int l = slices[v].first; l < slices[v].last; ++l)
      bytes[v % P] += static_cast<double>(inflight[v]) * static_cast<double>(layers[l].activation_bytes);
  // A split backward's W (ZB-H1's) reads the gradients its I wrote ops before, and until then a
  // record also holds those gradients while other micro-batches' ops run: W cold, and the stage
  // never hotter than the hot point.
  const bool split_backward = SplitsBackward(spec.kind());
  for (uint32_t s = 0; s < P; ++s) {
    w[s].records = std::clamp((bytes[s] - hot) / hot, split_backward ? 0.0 : -1.0, 1.0);
    w[s].weight_grads = split_backward ? 1.0 : w[s].records;
  }
  return w;
}

namespace {

// `hot` moved `w` of the way to `cold` (hot alone when cold was not measured); below the hot point
// (w < 0) by the ratio cold / hot taken |w| times the other way, which stays above 0.
double Blend(double hot, double cold, double w) {
  if (!(cold > 0)) return hot;
  return w >= 0 ? hot + w * (cold - hot) : hot * std::pow(hot / cold, -w);
}

}  // namespace

ir::CostModel BuildCostModel(const std::vector<LayerCost>& layers, const std::vector<LayerSlice>& slices,
                             uint32_t stages, const Link& link, uint64_t tokens_per_microbatch,
                             const std::vector<CacheWeight>& cold) {
  ir::CostModel cost;
  for (uint32_t s = 0; s < stages; ++s) {
    LayerCost sum;
    uint32_t count = 0;
    uint64_t message = 0;
    const CacheWeight w = s < cold.size() ? cold[s] : CacheWeight{};
    for (size_t v = s; v < slices.size(); v += stages) {
      for (int l = slices[v].first; l < slices[v].last; ++l) {
        const LayerCost& c = layers[l];
        sum.forward_ns += Blend(c.forward_ns, c.forward_cold_ns, w.records);
        sum.backward_input_ns += Blend(c.backward_input_ns, c.backward_input_cold_ns, w.records);
        sum.backward_weight_ns += Blend(c.backward_weight_ns, c.backward_weight_cold_ns, w.weight_grads);
        sum.optimizer_ns += c.optimizer_ns;
        sum.activation_bytes += c.activation_bytes;
        sum.weight_bytes += c.weight_bytes;
        sum.gradient_bytes += c.gradient_bytes;
        sum.optimizer_state_bytes += c.optimizer_state_bytes;
        ++count;
      }
      message = std::max(message, layers[slices[v].last - 1].message_bytes);
    }
    ir::StageCost& c = *cost.add_stages();
    c.set_forward_ns(std::llround(sum.forward_ns));
    c.set_backward_input_ns(std::llround(sum.backward_input_ns));
    c.set_backward_weight_ns(std::llround(sum.backward_weight_ns));
    c.set_optimizer_ns(std::llround(sum.optimizer_ns));
    c.set_activation_bytes(sum.activation_bytes);
    c.set_weight_bytes(sum.weight_bytes);
    c.set_gradient_bytes(sum.gradient_bytes);
    c.set_optimizer_state_bytes(sum.optimizer_state_bytes);
    c.set_message_bytes(message);
    c.set_layers(count);
    c.set_first_layer(s < slices.size() ? static_cast<uint32_t>(slices[s].first) : 0);
  }
  if (link.bandwidth > 0 || link.latency_s > 0) {
    ir::LinkCost& l = *cost.add_links();
    l.set_latency_ns(std::llround(link.latency_s * 1e9));
    l.set_bandwidth_bytes_per_s(link.bandwidth);
  }
  cost.set_tokens_per_microbatch(tokens_per_microbatch);
  return cost;
}

void ShareOneDevice(const ir::Profile& profile, ir::CostModel* cost) {
  cost->clear_device();
  cost->clear_colocation_slowdown();
  cost->clear_device_slots();
  for (int s = 0; s < cost->stages_size(); ++s) cost->add_device(0);
  std::vector<ir::ColocationFactor> f(profile.colocation().begin(), profile.colocation().end());
  std::sort(f.begin(), f.end(), [](const auto& a, const auto& b) { return a.stages() < b.stages(); });
  for (const ir::ColocationFactor& c : f) {
    // Fill gaps (a profile may skip counts) with the nearest smaller factor.
    while (cost->colocation_slowdown_size() + 2 < static_cast<int>(c.stages()))
      cost->add_colocation_slowdown(cost->colocation_slowdown_size()
                                        ? cost->colocation_slowdown(cost->colocation_slowdown_size() - 1)
                                        : 1.0);
    if (cost->colocation_slowdown_size() + 2 == static_cast<int>(c.stages()))
      cost->add_colocation_slowdown(c.slowdown());
  }
  // n stages on `cpus` CPUs share at most that many: each runs at no more than cpus / n of its
  // speed alone, whatever a noisy measurement says (a probe read x1.92 for 4 threads on 2 CPUs).
  // Counts beyond the profile's keep its last factor, as the simulator would, bounded the same way.
  if (profile.cpus() == 0 || cost->colocation_slowdown_size() == 0) return;
  // More stages than CPUs, measured handing on as a pipeline's: they take turns, at most `cpus`
  // ops at once, each stretched by the time slices it loses (docs/cost-model.md, "Co-location").
  const uint32_t P = static_cast<uint32_t>(cost->stages_size());
  for (const ir::ColocationFactor& c : f)
    if (P > profile.cpus() && c.stages() == P && c.op_stretch() > 0) {
      cost->set_device_slots(profile.cpus());
      cost->clear_colocation_slowdown();
      cost->add_colocation_slowdown(c.op_stretch());
      return;
    }
  while (cost->colocation_slowdown_size() + 2 <= cost->stages_size())
    cost->add_colocation_slowdown(cost->colocation_slowdown(cost->colocation_slowdown_size() - 1));
  for (int i = 0; i < cost->colocation_slowdown_size(); ++i)
    cost->set_colocation_slowdown(i,
                                  std::max(cost->colocation_slowdown(i),
                                           static_cast<double>(i + 2) / static_cast<double>(profile.cpus())));
}

ir::CostModel CostModelForSlices(const ModelCostSetup& setup, const std::vector<LayerSlice>& slices,
                                 const ir::PipelineSpec& spec) {
  ir::CostModel cost = BuildCostModel(setup.layers, slices, spec.stages(), setup.link,
                                      uint64_t{setup.microbatch} * setup.model.seq(),
                                      ColdCacheWeights(setup.profile, setup.layers, slices, spec));
  if (setup.colocate) ShareOneDevice(setup.profile, &cost);
  return cost;
}

Result<std::vector<LayerSlice>> SlicesForSpec(const ModelCostSetup& setup, const ir::PipelineSpec& spec) {
  const uint32_t P = spec.stages(), V = std::max<uint32_t>(1, spec.chunks());
  return PartitionLayers(LayerLoads(setup.layers), P * V, InflightPerVirtualStage(spec),
                         setup.memory_cap_bytes);
}

Result<ir::CostModel> CostModelForSpec(const ModelCostSetup& setup, const ir::PipelineSpec& spec) {
  Result<std::vector<LayerSlice>> slices = SlicesForSpec(setup, spec);
  if (!slices.ok()) return slices.status();
  return CostModelForSlices(setup, *slices, spec);
}

}  // namespace paci::sim
