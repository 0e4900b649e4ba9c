#include "study/time_to_accuracy.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "proto/ir_names.h"
#include "sched/checked_math.h"

namespace paci::study {
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
    if (e.seconds_to_target && *e.seconds_to_target > 0)
      e.speedup_vs_best_flush = *best_flush / *e.seconds_to_target;
}

namespace {

// Ranks within each stage count: the fastest flush baseline at the same P.
void RankPerStageCount(const std::vector<sim::SweepRow>& rows, std::vector<TtaEntry>* entries) {
  std::map<uint32_t, std::vector<size_t>> by_p;
  for (size_t i = 0; i < rows.size(); ++i) by_p[rows[i].stages].push_back(i);
  for (auto& [p, idx] : by_p) {
    std::vector<TtaEntry> group;
    for (size_t i : idx) group.push_back((*entries)[i]);
    RankTimeToAccuracy(&group);
    for (size_t k = 0; k < idx.size(); ++k) (*entries)[idx[k]] = group[k];
  }
}

}  // namespace

Result<std::vector<TtaEntry>> SweepTimeToAccuracy(const std::vector<sim::SweepRow>& rows,
                                                  const std::map<std::string, LossCurve>& curves,
                                                  double target_loss, const sim::CostForSpec& cost_for,
                                                  uint64_t tta_updates, unsigned threads) {
  std::vector<TtaEntry> entries(rows.size());
  std::vector<Status> errors(rows.size());
  sim::ParallelFor(rows.size(), threads, [&](size_t i) {
    const sim::SweepRow& r = rows[i];
    TtaEntry& e = entries[i];
    e.flush = IsFlushSchedule(r.kind);
    if (!r.ok()) return;
    // A variant's own curve ("paci+rewind=1=FILE"), else its schedule's, else the one for all.
    auto it = curves.find(ScheduleVariantText({ScheduleName(r.kind), r.staleness}));
    if (it == curves.end()) it = curves.find(ScheduleName(r.kind));
    if (it == curves.end()) it = curves.find("*");
    if (it == curves.end()) return;
    e.updates_to_target = UpdatesToReach(it->second, target_loss);
    Result<ir::PipelineSpec> spec = sim::SweepSpec(r.kind, r.stages, r.accum, 0, r.chunks);
    Result<ir::CostModel> cost = spec.ok() ? cost_for(*spec) : Result<ir::CostModel>(spec.status());
    if (cost.ok()) cost = sim::CompensatedCost(*spec, r.staleness, *cost);
    Result<sim::UpdateTiming> t = cost.ok() ? sim::SimulateUpdateTiming(*spec, *cost, tta_updates)
                                            : Result<sim::UpdateTiming>(cost.status());
    if (!t.ok())
      errors[i] = t.status();
    else
      e.timing = *t;
  });
  for (const Status& st : errors)
    if (!st.ok()) return st;
  RankPerStageCount(rows, &entries);
  return entries;
}

}  // namespace paci::study
