// ReplayModel: a play head over a recorded run. At time t it answers which ops are in flight, the
// live memory of each stage and the latest weight version each stage has used. step() advances
// by wall-clock milliseconds times the speed (trace ns per wall ms); play() drives step() from a
// QTimer so tests can step by hand and the page can just call play().
#pragma once

#include <QObject>
#include <QTimer>
#include <cstdint>
#include <memory>
#include <vector>

#include "gui/model/trace_index.h"

namespace paci::gui {

class ReplayModel : public QObject {
  Q_OBJECT
 public:
  explicit ReplayModel(QObject* parent = nullptr);

  // memory: samples from the run (may be empty; op live_bytes are used then). Times in the
  // trace's own clock; they are shifted by the index's offset.
  void setTrace(std::shared_ptr<const TraceIndex> index, std::vector<ir::MemorySample> memory);
  const TraceIndex* index() const { return index_.get(); }

  int64_t time() const { return time_; }
  void setTime(int64_t t);  // clamped to [0, makespan]
  double speed() const { return speed_; }
  void setSpeed(double ns_per_wall_ms) { speed_ = ns_per_wall_ms; }
  void step(double wall_ms);  // advances; stops playing at the end
  void play();
  void pause();
  bool playing() const { return timer_.isActive(); }

  std::vector<size_t> opsInFlight() const;            // indices into index()->ops()
  std::vector<uint64_t> liveBytes() const;            // per stage, at time()
  std::vector<int64_t> latestVersion() const;         // per stage; -1 before any versioned op
  uint64_t peakBytes() const { return peak_bytes_; }  // over the run, for scaling bars
  // Whether the run carries any live memory: false when every sample and every op says 0 B, as
  // for a simulation whose costs give no memory sizes (`paci simulate` with typed times and no
  // --activation-mb / --weights-mb, e.g. the 9 M-op benchmark run) or a measurement that recorded
  // none. The page then says "not recorded" instead of a false "0 B" on every stage.
  bool memoryRecorded() const { return peak_bytes_ > 0; }

 signals:
  void timeChanged(qint64 t);
  void playingChanged(bool playing);

 private:
  std::shared_ptr<const TraceIndex> index_;
  std::vector<std::vector<std::pair<int64_t, uint64_t>>> memory_;   // per stage, by time
  std::vector<std::vector<std::pair<int64_t, int64_t>>> versions_;  // per stage: start, max so far
  int64_t time_ = 0;
  double speed_ = 1e6;  // 1 ms of trace per wall millisecond
  uint64_t peak_bytes_ = 0;
  QTimer timer_;
  qint64 last_tick_ms_ = 0;
};

}  // namespace paci::gui
