#include "gui/model/replay_model.h"

#include <QDateTime>
#include <algorithm>

namespace paci::gui {

ReplayModel::ReplayModel(QObject* parent) : QObject(parent) {
  timer_.setInterval(16);  // about one frame
  connect(&timer_, &QTimer::timeout, this, [this] {
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    step(static_cast<double>(now - last_tick_ms_));
    last_tick_ms_ = now;
  });
}

void ReplayModel::setTrace(std::shared_ptr<const TraceIndex> index,
                           std::vector<ir::MemorySample> memory) {
  pause();
  index_ = std::move(index);
  memory_.assign(index_ ? index_->stages() : 0, {});
  versions_.clear();
  peak_bytes_ = 0;
  if (index_) {
    // Without samples, the live bytes recorded at each op's end make the memory curve.
    if (memory.empty()) {
      for (const OpSpan& s : index_->ops()) memory_[s.stage].emplace_back(s.end, s.live_bytes);
    } else {
      for (const auto& m : memory) {
        if (m.stage() < memory_.size()) {
          memory_[m.stage()].emplace_back(m.time_ns() - index_->offset_ns(), m.live_bytes());
        }
      }
    }
    versions_.assign(index_->stages(), {});
    for (uint32_t s = 0; s < index_->stages(); ++s) {
      const auto [b, e] = index_->Row(s, ir::LANE_COMPUTE);
      int64_t best = -1;
      for (size_t i = b; i < e; ++i) {
        best = std::max(best, index_->op(i).version);
        versions_[s].emplace_back(index_->op(i).start, best);
      }
    }
    for (auto& v : memory_) {
      std::stable_sort(v.begin(), v.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      for (const auto& p : v) peak_bytes_ = std::max(peak_bytes_, p.second);
    }
  }
  time_ = -1;
  setTime(0);
}

void ReplayModel::setTime(int64_t t) {
  const int64_t end = index_ ? index_->makespan() : 0;
  t = std::clamp<int64_t>(t, 0, end);
  if (t == time_) return;
  time_ = t;
  emit timeChanged(time_);
}

void ReplayModel::step(double wall_ms) {
  setTime(time_ + static_cast<int64_t>(wall_ms * speed_));
  if (index_ && time_ >= index_->makespan()) pause();
}

void ReplayModel::play() {
  if (!index_ || timer_.isActive()) return;
  if (time_ >= index_->makespan()) setTime(0);
  last_tick_ms_ = QDateTime::currentMSecsSinceEpoch();
  timer_.start();
  emit playingChanged(true);
}

void ReplayModel::pause() {
  if (!timer_.isActive()) return;
  timer_.stop();
  emit playingChanged(false);
}

std::vector<size_t> ReplayModel::opsInFlight() const {
  std::vector<size_t> out;
  if (!index_) return out;
  for (uint32_t s = 0; s < index_->stages(); ++s) {
    for (int lane = 0; lane < kLanesPerStage; ++lane) {
      const auto [lo, hi] = index_->Visible(s, static_cast<ir::Lane>(lane), time_, time_);
      for (size_t i = lo; i < hi; ++i) {
        const OpSpan& o = index_->op(i);
        if (o.start <= time_ && time_ < o.end) out.push_back(i);
      }
    }
  }
  return out;
}

std::vector<uint64_t> ReplayModel::liveBytes() const {
  std::vector<uint64_t> out(memory_.size(), 0);
  for (size_t s = 0; s < memory_.size(); ++s) {
    const auto& v = memory_[s];
    auto it = std::upper_bound(v.begin(), v.end(), time_,
                               [](int64_t t, const auto& p) { return t < p.first; });
    if (it != v.begin()) out[s] = std::prev(it)->second;
  }
  return out;
}

std::vector<int64_t> ReplayModel::latestVersion() const {
  // Versions only grow on a stage, so the latest is the running maximum over compute ops started
  // by now.
  std::vector<int64_t> out(versions_.size(), -1);
  for (size_t s = 0; s < versions_.size(); ++s) {
    const auto& v = versions_[s];
    auto it = std::upper_bound(v.begin(), v.end(), time_,
                               [](int64_t t, const auto& p) { return t < p.first; });
    if (it != v.begin()) out[s] = std::prev(it)->second;
  }
  return out;
}

}  // namespace paci::gui
