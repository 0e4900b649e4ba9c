#include "exec/model/profile.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "exec/model/adamw.h"
#include "exec/model/rng.h"
#include "exec/model/stage.h"
#include "exec/model/threads.h"
#include "proto/ir_names.h"
#include "sched/checked_math.h"

namespace paci::exec {
namespace {

using Clock = std::chrono::steady_clock;

// Running mean and relative standard error of repeated timings (Welford).
struct Samples {
  double mean = 0, m2 = 0;
  int n = 0;
  void Add(double x) {
    ++n;
    const double d = x - mean;
    mean += d / n;
    m2 += d * (x - mean);
  }
  double Rse() const {
    if (n < 2 || mean <= 0) return n < 2 ? INFINITY : 0.0;
    return std::sqrt(m2 / (n - 1) / n) / mean;
  }
};

// Bytes one micro-batch's forward leaves in `saved` for its backward (as the stage worker counts).
uint64_t SavedBytes(const StageSaved& s) {
  uint64_t bytes = 0;
  for (const LayerSaved& l : s.layers) {
    for (const std::vector<float>* v :
         {&l.inp, &l.ln1, &l.ln1_mean, &l.ln1_rstd, &l.qkv, &l.atty, &l.att, &l.r2, &l.ln2, &l.ln2_mean,
          &l.ln2_rstd, &l.fch, &l.fch_gelu, &l.logits, &l.probs, &l.losses})
      bytes += v->capacity() * sizeof(float);
    bytes += (l.tokens.capacity() + l.targets.capacity()) * sizeof(int);
  }
  return bytes;
}

const char* KindName(LayerKind k) {
  switch (k) {
    case LayerKind::kEmbedding: return "embedding";
    case LayerKind::kBlock: return "block";
    case LayerKind::kHead: return "head";
  }
  return "";
}

// Everything one slice [first, last) needs to run forward, backward and the optimizer repeatedly.
struct SliceBench {
  StageModel model;
  std::vector<float> params, grads, acts, dout, out, dinp;
  std::vector<int> tokens, targets;
  StageSaved saved;
  AdamW opt;
  int B = 0, T = 0;

  static Result<SliceBench> Create(const GPTConfig& cfg, int first, int last, int B, uint64_t seed) {
    Result<StageModel> m = StageModel::Create(cfg, first, last);
    if (!m.ok()) return m.status();
    SliceBench b;
    b.model = *m;
    b.B = B;
    b.T = cfg.block_size;
    const ParamLayout layout = gpt_param_layout(cfg);
    std::vector<float> all(layout.total);
    gpt_init_params(cfg, layout, seed, all.data());
    b.params.assign(all.begin() + static_cast<long>(b.model.param_offset()),
                    all.begin() + static_cast<long>(b.model.param_offset() + b.model.num_params()));
    b.grads.assign(b.params.size(), 0.0f);
    b.opt = adamw_create(AdamWConfig{}, layout, b.model.param_offset(), b.model.num_params());
    Rng rng{seed * 7919 + static_cast<uint64_t>(first)};
    const size_t n = static_cast<size_t>(B) * b.T;
    b.tokens.resize(n);
    b.targets.resize(n);
    for (size_t i = 0; i < n; ++i) {
      b.tokens[i] = static_cast<int>(rng_below(&rng, static_cast<uint64_t>(cfg.vocab_size)));
      b.targets[i] = static_cast<int>(rng_below(&rng, static_cast<uint64_t>(cfg.vocab_size)));
    }
    b.acts.resize(n * static_cast<size_t>(cfg.n_embd));
    b.dout.resize(b.acts.size());
    for (float& x : b.acts) x = rng_normal(&rng);
    for (float& x : b.dout) x = 1e-3f * rng_normal(&rng);
    return b;
  }

  StageInput Input() const {
    StageInput in;
    if (model.has_embedding())
      in.tokens = tokens.data();
    else
      in.acts = acts.data();
    if (model.has_head()) in.targets = targets.data();
    return in;
  }
  void Forward() { model.forward(params.data(), Input(), B, T, &saved, &out); }
  void BackwardInput() {
    const float dloss = 1.0f;
    model.backward_input(params.data(), &saved, model.has_head() ? &dloss : dout.data(), &dinp);
  }
  void BackwardWeight() { model.backward_weight(&saved, grads.data()); }
  void Optimizer() { adamw_update(&opt, params.data(), grads.data(), 1e-5f); }
};

template <typename Fn>
double TimeNs(Fn&& fn) {
  const auto t0 = Clock::now();
  fn();
  return std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
}

// One layer under measurement: its bench and the running means of its four ops.
struct LayerTimer {
  SliceBench bench;
  Samples f, bi, bw, opt;
  double WorstRse() const { return std::max({f.Rse(), bi.Rse(), bw.Rse(), opt.Rse()}); }
  void Repeat() {
    f.Add(TimeNs([&] { bench.Forward(); }));
    bi.Add(TimeNs([&] { bench.BackwardInput(); }));
    bw.Add(TimeNs([&] { bench.BackwardWeight(); }));
    opt.Add(TimeNs([&] { bench.Optimizer(); }));
  }
};

ir::LayerProfile LayerProfileOf(const ProfileOptions& o, int layer, LayerTimer& t,
                                uint64_t activation_bytes) {
  ir::LayerProfile p;
  p.set_index(static_cast<uint32_t>(layer));
  p.set_kind(KindName(gpt_layer_kind(o.model, layer)));
  p.set_activation_bytes(activation_bytes);
  p.set_forward_ns(t.f.mean);
  p.set_forward_rse(t.f.Rse());
  p.set_backward_input_ns(t.bi.mean);
  p.set_backward_input_rse(t.bi.Rse());
  p.set_backward_weight_ns(t.bw.mean);
  p.set_backward_weight_rse(t.bw.Rse());
  p.set_optimizer_ns(t.opt.mean);
  p.set_optimizer_rse(t.opt.Rse());
  p.set_repetitions(static_cast<uint32_t>(t.f.n));
  const uint64_t params = t.bench.model.num_params();
  p.set_weight_bytes(params * 4);
  p.set_gradient_bytes(params * 4);
  p.set_optimizer_state_bytes(params * 8);
  p.set_message_bytes(static_cast<uint64_t>(o.B) * o.model.block_size * o.model.n_embd * 4);
  return p;
}

// Every layer's four ops, repeated round-robin (one repetition of each unfinished layer per
// round) until each layer's worst relative standard error is below the target, or it reached
// max_repetitions, or the whole budget (max_seconds_per_layer x layers) is spent. Round-robin,
// not layer after layer, so that a change in the machine's background load during the profile
// (a shared box) falls on all layers alike instead of inflating whichever layer was being timed.
Result<std::vector<ir::LayerProfile>> MeasureLayers(const ProfileOptions& o,
                                                    const std::function<void(const std::string&)>& progress) {
  const int n = gpt_num_layers(o.model);
  std::vector<LayerTimer> timers;
  std::vector<uint64_t> activation_bytes;
  for (int l = 0; l < n; ++l) {
    Result<SliceBench> made = SliceBench::Create(o.model, l, l + 1, o.B, o.seed);
    if (!made.ok()) return made.status();
    LayerTimer t{std::move(*made), {}, {}, {}, {}};
    t.bench.Forward();  // warm-up: allocates every buffer the repetitions reuse
    activation_bytes.push_back(SavedBytes(t.bench.saved));
    t.bench.BackwardInput();
    t.bench.BackwardWeight();
    t.bench.Optimizer();
    timers.push_back(std::move(t));
  }
  auto finished = [&](const LayerTimer& t) {
    return t.f.n >= o.max_repetitions || (t.f.n >= o.min_repetitions && t.WorstRse() <= o.target_rse);
  };
  const double budget = o.max_seconds_per_layer * n;
  const auto start = Clock::now();
  for (bool any = true; any;) {
    any = false;
    for (LayerTimer& t : timers) {
      if (finished(t)) continue;
      t.Repeat();
      any = true;
    }
    const bool all_min = std::all_of(timers.begin(), timers.end(),
                                     [&](const LayerTimer& t) { return t.f.n >= o.min_repetitions; });
    if (all_min && std::chrono::duration<double>(Clock::now() - start).count() > budget) break;
  }
  std::vector<ir::LayerProfile> out;
  for (int l = 0; l < n; ++l) {
    out.push_back(LayerProfileOf(o, l, timers[l], activation_bytes[l]));
    if (progress)
      progress("layer " + std::to_string(l) + " (" + out.back().kind() +
               "): " + std::to_string(out.back().repetitions()) + " repetitions");
  }
  return out;
}

// Mean time of one whole-model forward + backward on each of `n` threads running at once
// (n = 1: alone), each with `threads` kernel threads, for about `seconds`.
Samples MeasureConcurrent(const ProfileOptions& o, std::vector<SliceBench>& benches, int n, double seconds) {
  std::vector<Samples> per(n);
  std::vector<std::atomic<int>> done(static_cast<size_t>(n));  // samples so far, read by the timer
  std::atomic<int> ready{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> pool;
  for (int t = 0; t < n; ++t) {
    pool.emplace_back([&, t] {
      exec_set_threads(o.threads);
      SliceBench& b = benches[t];
      b.Forward();
      b.BackwardInput();
      b.BackwardWeight();
      ready.fetch_add(1);
      while (ready.load() < n) std::this_thread::yield();
      // Every thread keeps running until all have enough samples, so each sample overlaps others.
      while (!stop.load()) {
        per[t].Add(TimeNs([&] {
          b.Forward();
          b.BackwardInput();
          b.BackwardWeight();
        }));
        done[static_cast<size_t>(t)].fetch_add(1);
      }
    });
  }
  while (ready.load() < n) std::this_thread::yield();
  const auto start = Clock::now();
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const double el = std::chrono::duration<double>(Clock::now() - start).count();
    bool enough = true;
    for (const std::atomic<int>& d : done) enough = enough && d.load() >= 3;
    if (el > seconds && enough) break;
    if (el > 10 * seconds) break;
  }
  stop.store(true);
  for (std::thread& th : pool) th.join();
  Samples all;  // pooled over threads (Chan et al.'s merge of mean and M2)
  for (const Samples& t : per) {
    if (t.n == 0) continue;
    const int nn = all.n + t.n;
    const double d = t.mean - all.mean;
    all.m2 += t.m2 + d * d * static_cast<double>(all.n) * t.n / nn;
    all.mean += d * t.n / nn;
    all.n = nn;
  }
  return all;
}

}  // namespace

ProfileMemory ProfileBytes(const ProfileOptions& o) {
  const double C = o.model.n_embd, L = o.model.n_layer, V = o.model.vocab_size;
  const double T = o.model.block_size, B = o.B, H = o.model.n_head;
  const double params = 2 * V * C + T * C + L * (12 * C * C + 13 * C) + 2 * C;  // an untied head
  // Saved per block: ~16 B T C floats and the attention matrices (2 B H T^2); their gradients
  // about as much again; the head's logits and probabilities and theirs (4 B T V).
  const double acts = 2 * (B * T * (L * 16 * C) + 2 * B * H * T * T * L) + 4 * B * T * V;
  ProfileMemory m;
  // Every layer's bench holds its slice's weights, gradients and AdamW state (4 copies), its
  // activations and their gradients, an input and an output gradient (2 B T C per layer), and each
  // is made from a whole model's initial weights (one more copy, transiently).
  m.layers = 4 * (5 * params + acts + 2 * B * T * C * (L + 2));
  m.colocation = o.max_colocated >= 2 ? 4 * o.max_colocated * (4 * params + acts + 2 * B * T * C) : 0;
  return m;
}

double ProfileMemoryLimit() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  double limit = pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page) : 0;
  struct rlimit as {};
  if (getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY) {
    const double address_space = static_cast<double>(as.rlim_cur);
    limit = limit > 0 ? std::min(limit, address_space) : address_space;
  }
  return limit;
}

namespace {

std::string GiB(double bytes) { return std::to_string(static_cast<int64_t>(std::ceil(bytes / (1 << 30)))); }

// Before anything is allocated: a shape beyond the machine fails here with the flags named,
// instead of running out of memory (or being killed) part way through.
Status ProfileFits(const ProfileOptions& o) {
  const ProfileMemory need = ProfileBytes(o);
  const double have = ProfileMemoryLimit();
  if (have <= 0 || std::max(need.layers, need.colocation) <= have) return Status::Ok();
  const std::string machine = " GiB this machine gives the process (its memory, or ulimit -v when lower)";
  if (need.layers > have)
    return Status::InvalidArgument(
        "--layers/--dim/--heads/--seq/--vocab/--microbatch-size: profiling every layer would allocate ~" +
        GiB(need.layers) + " GiB, more than the " + GiB(have) + machine + "; profile a smaller shape");
  return Status::InvalidArgument("--colocate " + std::to_string(o.max_colocated) + ": " +
                                 std::to_string(o.max_colocated) + " copies of the model would allocate ~" +
                                 GiB(need.colocation) + " GiB, more than the " + GiB(have) + machine +
                                 "; give fewer --colocate stages (or --colocate 0)");
}

}  // namespace

Result<ir::Profile> MeasureProfile(const ProfileOptions& o,
                                   const std::function<void(const std::string&)>& progress) {
  PACI_RETURN_IF_ERROR(gpt_config_validate(o.model));
  if (o.B < 1) return Status::InvalidArgument("--microbatch-size: must be >= 1");
  if (o.threads < 1) return Status::InvalidArgument("--threads: must be >= 1");
  if (o.threads > 1 && !exec_openmp())
    return Status::InvalidArgument(
        "--threads: this build has no OpenMP (-DPACI_OPENMP=OFF), so one kernel thread only");
  if (!(o.target_rse > 0) || !std::isfinite(o.target_rse))
    return Status::InvalidArgument("--target-rse: must be a number > 0");
  if (o.max_colocated > kMaxColocated)
    return Status::InvalidArgument(
        "--colocate: at most kMaxColocated (exec/model/profile.h) = " + std::to_string(kMaxColocated) +
        " stages, got " + std::to_string(o.max_colocated));
  PACI_RETURN_IF_ERROR(
      CheckRange(o.colocation_seconds, 0, kMaxProfileSeconds, "--colocate-seconds", /*lo_open=*/true));
  PACI_RETURN_IF_ERROR(CheckRange(o.max_seconds_per_layer, 0, kMaxProfileSeconds, "--max-seconds-per-layer",
                                  /*lo_open=*/true));
  PACI_RETURN_IF_ERROR(ProfileFits(o));
  exec_set_threads(o.threads);
  ir::Profile p;
  p.set_version(1);
  ir::ModelShape& m = *p.mutable_model();
  m.set_layers(static_cast<uint32_t>(o.model.n_layer));
  m.set_dim(static_cast<uint32_t>(o.model.n_embd));
  m.set_heads(static_cast<uint32_t>(o.model.n_head));
  m.set_seq(static_cast<uint32_t>(o.model.block_size));
  m.set_vocab(static_cast<uint32_t>(o.model.vocab_size));
  m.set_tie(o.model.tie);
  p.set_microbatch_size(static_cast<uint32_t>(o.B));
  p.set_precision(PrecisionName(ir::PRECISION_FP32));
  p.set_threads(static_cast<uint32_t>(o.threads));
  p.set_target_rse(o.target_rse);
  // The load average says whether others shared the machine while we measured (a profile taken
  // under load predicts runs under the same load only).
  double load = 0;
  const std::string busy =
      getloadavg(&load, 1) == 1 ? ", load average " + std::to_string(load).substr(0, 4) : "";
  p.set_device("cpu: " + std::to_string(std::thread::hardware_concurrency()) + " hardware threads" + busy);
  const int n = gpt_num_layers(o.model);
  Result<std::vector<ir::LayerProfile>> layers = MeasureLayers(o, progress);
  if (!layers.ok()) return layers.status();
  for (const ir::LayerProfile& l : *layers) *p.add_layers() = l;
  if (o.max_colocated >= 2) {
    std::vector<SliceBench> benches;
    for (int t = 0; t < o.max_colocated; ++t) {
      Result<SliceBench> b = SliceBench::Create(o.model, 0, n, o.B, o.seed + static_cast<uint64_t>(t));
      if (!b.ok()) return b.status();
      benches.push_back(std::move(*b));
    }
    const Samples alone = MeasureConcurrent(o, benches, 1, o.colocation_seconds);
    for (int k = 2; k <= o.max_colocated; ++k) {
      const Samples shared = MeasureConcurrent(o, benches, k, o.colocation_seconds);
      ir::ColocationFactor& c = *p.add_colocation();
      c.set_stages(static_cast<uint32_t>(k));
      c.set_slowdown(shared.mean / alone.mean);
      c.set_rse(std::hypot(shared.Rse(), alone.Rse()));
      if (progress)
        progress("co-location of " + std::to_string(k) + " stages: x" + std::to_string(c.slowdown()));
    }
  }
  return p;
}

}  // namespace paci::exec
