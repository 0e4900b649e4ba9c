#include "exec/model/profile.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "exec/model/affinity.h"
#include "exec/model/colocation_probe.h"
#include "exec/model/profile_stats.h"
#include "exec/model/slice_bench.h"
#include "exec/model/threads.h"
#include "proto/ir_names.h"
#include "sched/checked_math.h"

namespace paci::exec {
namespace {

std::string Percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %%", fraction * 100);
  return buf;
}

const char* KindName(LayerKind k) {
  switch (k) {
    case LayerKind::kEmbedding: return "embedding";
    case LayerKind::kBlock: return "block";
    case LayerKind::kHead: return "head";
  }
  return "";
}

// One layer under measurement: its bench and the samples of its ops, hot (record 0, reused)
// and cold (records 1.. in turn: the forward writes one, the backward reads one written long ago,
// as under GPipe).
struct LayerTimer {
  SliceBench bench;
  TimingSamples f, bi, bw, opt, fc, bic, bwc;
  std::vector<const TimingSamples*> All() const { return {&f, &bi, &bw, &opt, &fc, &bic, &bwc}; }
  int ColdRecords() const { return static_cast<int>(bench.records.size()) - 1; }
  double WorstRse(bool cold) const {
    return cold ? std::max({fc.Rse(), bic.Rse(), bwc.Rse()})
                : std::max({f.Rse(), bi.Rse(), bw.Rse(), opt.Rse()});
  }
  // One repetition of the hot or the cold ops; `record` false runs them without keeping the times.
  void Repeat(bool cold, int round, bool record) {
    auto time = [&](TimingSamples& s, auto&& op) {
      const OpTime t = TimeOp(op);
      if (record) s.Add(t);
    };
    if (!cold) {
      time(f, [&] { bench.Forward(0); });
      time(bi, [&] { bench.BackwardInput(0); });
      time(bw, [&] { bench.BackwardWeight(0); });
      time(opt, [&] { bench.Optimizer(); });
      return;
    }
    const ColdRound r = ColdRecordsOf(round, ColdRecords());
    time(fc, [&] { bench.Forward(1 + r.forward); });
    time(bic, [&] { bench.BackwardInput(1 + r.backward); });
    time(bwc, [&] { bench.BackwardWeight(1 + r.backward); });
  }
};

ir::LayerProfile LayerProfileOf(const ProfileOptions& o, int layer, const LayerTimer& t) {
  ir::LayerProfile p;
  p.set_index(static_cast<uint32_t>(layer));
  p.set_kind(KindName(gpt_layer_kind(o.model, layer)));
  p.set_activation_bytes(ForwardSavedBytes(t.bench.records[0]));
  p.set_forward_ns(t.f.Median());
  p.set_forward_rse(t.f.Rse());
  p.set_backward_input_ns(t.bi.Median());
  p.set_backward_input_rse(t.bi.Rse());
  p.set_backward_weight_ns(t.bw.Median());
  p.set_backward_weight_rse(t.bw.Rse());
  p.set_optimizer_ns(t.opt.Median());
  p.set_optimizer_rse(t.opt.Rse());
  p.set_forward_cpu_ns(t.f.CpuMedian());
  p.set_backward_input_cpu_ns(t.bi.CpuMedian());
  p.set_backward_weight_cpu_ns(t.bw.CpuMedian());
  p.set_optimizer_cpu_ns(t.opt.CpuMedian());
  if (t.ColdRecords() > 0) {
    p.set_forward_cold_ns(t.fc.Median());
    p.set_backward_input_cold_ns(t.bic.Median());
    p.set_backward_weight_cold_ns(t.bwc.Median());
  }
  p.set_repetitions(static_cast<uint32_t>(t.f.n()));
  const uint64_t params = t.bench.model.num_params();
  p.set_weight_bytes(params * 4);
  p.set_gradient_bytes(params * 4);
  p.set_optimizer_state_bytes(params * 8);
  p.set_message_bytes(static_cast<uint64_t>(o.B) * o.model.block_size * o.model.n_embd * 4);
  return p;
}

// The first half of the repetitions against the second, per op kind (sums over layers), and the
// CPU share of every timed op, into `p`; a warning when either says the host was not steady.
void CheckRepeatability(const ProfileOptions& o, const std::vector<LayerTimer>& timers, ir::Profile* p) {
  static const char* const kNames[] = {
      "forward",      "backward_input",      "backward_weight",     "optimizer",
      "forward_cold", "backward_input_cold", "backward_weight_cold"};
  std::string worst;
  double worst_diff = 0, wall = 0, cpu = 0;
  for (size_t k = 0; k < std::size(kNames); ++k) {
    double first = 0, second = 0;
    for (const LayerTimer& t : timers) {
      const TimingSamples& s = *t.All()[k];
      if (s.n() < 2) continue;
      first += s.FirstHalfMedian();
      second += s.SecondHalfMedian();
      wall += k < 4 ? std::accumulate(s.wall_ns.begin(), s.wall_ns.end(), 0.0) : 0;
      cpu += k < 4 ? std::accumulate(s.cpu_ns.begin(), s.cpu_ns.end(), 0.0) : 0;
    }
    if (first <= 0 && second <= 0) continue;
    ir::RepeatCheck& c = *p->add_halves();
    c.set_kind(kNames[k]);
    c.set_difference(RelativeDifference(first, second));
    if (c.difference() > worst_diff) worst_diff = c.difference(), worst = c.kind();
  }
  p->set_cpu_share(wall > 0 ? cpu / (wall * o.threads) : 0);
  std::string warning;
  if (worst_diff > kProfileRepeatTolerance)
    warning = "the two halves of the repetitions differ by " + Percent(worst_diff) + " in " + worst +
              " (more than " + Percent(kProfileRepeatTolerance) +
              "): this host's speed changed while it was profiled";
  if (p->cpu_share() < kProfileMinCpuShare)
    warning += std::string(warning.empty() ? "" : "; ") + "the ops had " + Percent(p->cpu_share()) +
               " of their CPUs: other processes shared them";
  if (!warning.empty()) p->set_warning(warning + "; predictions from this profile carry that error");
}

// Every layer's ops, repeated round-robin (one repetition of every layer per round), in blocks of
// kBlockRounds hot rounds then kBlockRounds cold ones, until each op's relative standard error is
// below the target, or max_repetitions, or the budget (max_seconds_per_layer x layers) is spent.
// Round-robin, so that a change in the machine's load falls on all layers alike; every layer in
// every round, so that all are timed with the same working set in the caches (stopping the quick
// ones early left the rest a smaller one and made them faster). Hot and cold alternate in blocks,
// not op by op, because the cold records' traffic would evict the hot record between its uses;
// the first round of each block only warms the caches to its kind and is not recorded. Blocks
// rather than one pass of each, so that a drift of the host falls on hot and cold alike.
constexpr int kBlockRounds = 8;

Result<std::vector<LayerTimer>> MeasureLayers(const ProfileOptions& o, int cold_records) {
  const int n = gpt_num_layers(o.model);
  std::vector<LayerTimer> timers;
  for (int l = 0; l < n; ++l) {
    Result<SliceBench> made = SliceBench::Create(o.model, l, l + 1, o.B, o.seed, 1 + cold_records);
    if (!made.ok()) return made.status();
    timers.push_back(LayerTimer{std::move(*made), {}, {}, {}, {}, {}, {}, {}});
    LayerTimer& t = timers.back();
    t.bench.BackwardInput(0);  // warm-up: sizes every buffer the repetitions reuse
    t.bench.BackwardWeight(0);
    t.bench.Optimizer();
  }
  const double budget = o.max_seconds_per_layer * n;
  const auto start = std::chrono::steady_clock::now();
  auto done = [&](bool cold) {
    return timers[0].f.n() >= o.max_repetitions ||
           (timers[0].f.n() >= o.min_repetitions &&
            std::all_of(timers.begin(), timers.end(),
                        [&](const LayerTimer& t) { return t.WorstRse(cold) <= o.target_rse; }));
  };
  for (int round = 0;;) {
    for (const bool cold : {false, true}) {
      if (cold && cold_records == 0) continue;
      for (int r = 0; r < kBlockRounds; ++r, ++round)
        for (LayerTimer& t : timers) t.Repeat(cold, round, /*record=*/r > 0);
    }
    const bool over =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > budget;
    if ((done(false) && (cold_records == 0 || done(true))) || (over && timers[0].f.n() >= o.min_repetitions))
      break;
  }
  return timers;
}

}  // namespace

namespace {

// Bytes, in floats, that one micro-batch's forward saves over the whole model (~16 B T C per
// block and the attention matrices, 2 B H T^2; the head's logits and probabilities, 2 B T V).
double SavedFloats(const ProfileOptions& o) {
  const double C = o.model.n_embd, L = o.model.n_layer, V = o.model.vocab_size;
  const double T = o.model.block_size, B = o.B, H = o.model.n_head;
  return B * T * (L * 16 * C) + 2 * B * H * T * T * L + 2 * B * T * V;
}

}  // namespace

// Both uses cold, as under GPipe. Reading the record written records - 1 rounds ago, the next
// forward's, as an earlier profiler did, left that forward writing a record one round after its
// backward had read it: 5-9 % above hot, where GPipe's forward measures 11-22 % above 1F1B's
// (bench/README.md, "GPipe's forward").
ColdRound ColdRecordsOf(int round, int records) {
  PACI_CHECK(records >= 1 && round >= 0);
  return {round % records, (round + records - records / 2) % records};
}

int ColdRecords(const ProfileOptions& o) {
  const double record = 4 * SavedFloats(o);
  if (record >= kColdWorkingSetBytes) return 0;  // one record already overflows any cache
  return static_cast<int>(std::min<double>(kMaxColdRecords, std::ceil(kColdWorkingSetBytes / record)));
}

ProfileMemory ProfileBytes(const ProfileOptions& o) {
  const double C = o.model.n_embd, L = o.model.n_layer, V = o.model.vocab_size;
  const double T = o.model.block_size, B = o.B;
  const double params = 2 * V * C + T * C + L * (12 * C * C + 13 * C) + 2 * C;  // an untied head
  // Saved activations, their gradients about as much again.
  const double acts = 2 * SavedFloats(o);
  const int cold = ColdRecords(o);
  ProfileMemory m;
  // Every layer's bench holds its slice's weights, gradients and AdamW state (4 copies), its
  // activations and their gradients, the cold records, an input and an output gradient (2 B T C
  // per layer), and each is made from a whole model's initial weights (one more copy, transiently).
  m.layers = 4 * (5 * params + acts + cold * acts / 2 + 2 * B * T * C * (L + 2));
  // The co-location slices cover the model once, and once more for every layer count of stages
  // beyond the first (more stages than layers repeat layers).
  const double copies = std::ceil(o.max_colocated / (L + 2));
  m.colocation = o.max_colocated >= 2 ? 4 * copies * (5 * params + acts + 2 * B * T * C * (L + 2)) : 0;
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
  return Status::InvalidArgument(
      "--colocate " + std::to_string(o.max_colocated) + ": " + std::to_string(o.max_colocated) +
      " stages' slices of the model would allocate ~" + GiB(need.colocation) + " GiB, more than the " +
      GiB(have) + machine + "; give fewer --colocate stages (or --colocate 0)");
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
  p.set_cpus(static_cast<uint32_t>(allowed_cpus().size()));
  const int cold = ColdRecords(o);
  Result<std::vector<LayerTimer>> timers = MeasureLayers(o, cold);
  if (!timers.ok()) return timers.status();
  for (size_t l = 0; l < timers->size(); ++l) {
    *p.add_layers() = LayerProfileOf(o, static_cast<int>(l), (*timers)[l]);
    if (progress)
      progress("layer " + std::to_string(l) + " (" + p.layers().rbegin()->kind() +
               "): " + std::to_string(p.layers().rbegin()->repetitions()) + " repetitions");
  }
  uint64_t record = 0;
  for (const ir::LayerProfile& l : p.layers()) record += l.activation_bytes();
  p.set_hot_working_set_bytes(record);
  if (cold > 0) {
    p.set_cold_records(static_cast<uint32_t>(cold));
    p.set_cold_working_set_bytes(record * static_cast<uint64_t>(cold));
  }
  CheckRepeatability(o, *timers, &p);
  timers->clear();  // frees the layer benches before the co-location's slices are made
  for (int k = 2; k <= o.max_colocated; ++k) {
    Result<ir::ColocationFactor> c = MeasureColocation(o, k);
    if (!c.ok()) return c.status();
    *p.add_colocation() = *c;
    if (progress)
      progress("co-location of " + std::to_string(k) + " stages" + (c->pinned() ? " (pinned)" : "") + ": x" +
               std::to_string(c->slowdown()));
  }
  return p;
}

}  // namespace paci::exec
