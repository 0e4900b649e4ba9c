#include "sim/time_to_accuracy.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "proto/ir_names.h"
#include "sched/checked_math.h"
#include "sched/pipeline_spec.h"
#include "sim/simulator.h"

namespace paci::sim {
namespace {

Status BadLine(const std::string& source, int line, const std::string& why) {
  return Status::InvalidArgument(source + ":" + std::to_string(line) + ": " + why);
}

// Splits off the first two comma-separated fields.
bool TwoFields(const std::string& line, std::string* a, std::string* b) {
  const size_t c1 = line.find(',');
  if (c1 == std::string::npos) return false;
  const size_t c2 = line.find(',', c1 + 1);
  *a = line.substr(0, c1);
  *b = line.substr(c1 + 1, c2 == std::string::npos ? std::string::npos : c2 - c1 - 1);
  return true;
}

}  // namespace

Status CheckTargetLoss(double target_loss) {
  return CheckRange(target_loss, 0, kMaxTargetLoss, "--target-loss", /*lo_open=*/true);
}

Result<LossCurve> ParseLossCurveCsv(const std::string& text, const std::string& source) {
  LossCurve curve;
  std::istringstream in(text);
  std::string line, a, b;
  for (int n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    if (!TwoFields(line, &a, &b)) return BadLine(source, n, "expected update,loss");
    char* end_a = nullptr;
    char* end_b = nullptr;
    const unsigned long long u = std::strtoull(a.c_str(), &end_a, 10);
    const double loss = std::strtod(b.c_str(), &end_b);
    const bool numeric = end_a != a.c_str() && *end_a == '\0' && end_b != b.c_str();
    if (!numeric) {
      if (curve.points.empty() && n == 1) continue;  // header
      return BadLine(source, n, "expected update,loss numbers, got '" + line + "'");
    }
    if (!std::isfinite(loss)) return BadLine(source, n, "loss is not finite");
    if (!curve.points.empty() && u <= curve.points.back().first)
      return BadLine(source, n, "updates must increase");
    curve.points.emplace_back(u, loss);
  }
  if (curve.points.empty()) return Status::InvalidArgument(source + ": no update,loss rows");
  return curve;
}

Result<LossCurve> LoadLossCurveCsv(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(path + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  return ParseLossCurveCsv(text.str(), path);
}

std::optional<uint64_t> UpdatesToReach(const LossCurve& curve, double target_loss) {
  std::vector<double> loss;
  loss.reserve(curve.points.size());
  for (const auto& point : curve.points) loss.push_back(point.second);
  const std::optional<size_t> i = FirstIndexReaching(loss, target_loss);
  if (!i) return std::nullopt;
  return curve.points[*i].first;
}

std::vector<double> TrailingMeanLoss(const std::vector<double>& loss, size_t window) {
  window = std::max<size_t>(1, window);
  std::vector<double> out;
  out.reserve(loss.size());
  double sum = 0;
  for (size_t i = 0; i < loss.size(); ++i) {
    sum += loss[i];
    if (i >= window) sum -= loss[i - window];
    out.push_back(sum / static_cast<double>(std::min(i + 1, window)));
  }
  return out;
}

std::optional<size_t> FirstIndexReaching(const std::vector<double>& loss, double target, size_t window) {
  const std::vector<double> smoothed = TrailingMeanLoss(loss, window);
  for (size_t i = 0; i < smoothed.size(); ++i)
    if (smoothed[i] <= target) return i;
  return std::nullopt;
}

Result<UpdateTiming> SimulateUpdateTiming(const ir::PipelineSpec& requested, const ir::CostModel& cost,
                                          uint64_t updates) {
  Result<ir::PipelineSpec> spec = NormalizeSpec(requested);
  if (!spec.ok()) return spec.status();
  if (updates == 0) updates = 1;
  const uint64_t per_update = IsFlushSchedule(spec->kind()) ? spec->microbatches_per_iteration() : spec->accum();
  double makespan[2] = {0, 0};
  for (int i = 0; i < 2; ++i) {
    ir::PipelineSpec s = *spec;
    s.set_total_microbatches(per_update * updates * (i + 1));
    Result<SimulationResult> r = SimulateSpec(s, cost);
    if (!r.ok()) return r.status();
    makespan[i] = static_cast<double>(r->makespan_ns) * 1e-9;
  }
  UpdateTiming t;
  t.period_s = (makespan[1] - makespan[0]) / static_cast<double>(updates);
  t.offset_s = makespan[0] - t.period_s * static_cast<double>(updates);
  return t;
}

void RankTimeToAccuracy(std::vector<TtaEntry>* entries) {
  std::optional<double> best_flush;
  for (TtaEntry& e : *entries) {
    e.seconds_to_target.reset();
    e.speedup_vs_best_flush.reset();
    if (!e.updates_to_target) continue;
    e.seconds_to_target = e.timing.SecondsFor(*e.updates_to_target);
    if (e.flush && (!best_flush || *e.seconds_to_target < *best_flush)) best_flush = e.seconds_to_target;
  }
  if (!best_flush) return;
  for (TtaEntry& e : *entries)
    if (e.seconds_to_target && *e.seconds_to_target > 0) e.speedup_vs_best_flush = *best_flush / *e.seconds_to_target;
}

}  // namespace paci::sim
