// ReplayPage: a recorded run with a play head. Play/pause, a speed choice and a position slider
// drive ReplayModel; the timeline emphasises the ops in flight, and bars show live memory and the
// latest weight version per stage.
#pragma once

#include <QWidget>
#include <memory>

#include "gui/model/replay_model.h"
#include "gui/model/timeline_model.h"

class QComboBox;
class QLabel;
class QPushButton;
class QSlider;

namespace paci::gui {

class TimelineWidget;

// Live memory and weight version per stage as horizontal bars.
class StageBars : public QWidget {
 public:
  explicit StageBars(QWidget* parent = nullptr) : QWidget(parent) {}
  // recorded: false when the run carries no memory (ReplayModel::memoryRecorded): no bar, and
  // the text says "memory not recorded" rather than "0 B".
  void setValues(std::vector<uint64_t> bytes, std::vector<int64_t> versions, uint64_t peak,
                 bool recorded = true);
  // What stage s's row says right of its bar ("1.5 GiB   weights v3").
  QString label(size_t s) const;
  QSize sizeHint() const override;

 protected:
  void paintEvent(QPaintEvent*) override;

 private:
  std::vector<uint64_t> bytes_;
  std::vector<int64_t> versions_;
  uint64_t peak_ = 1;
  bool recorded_ = true;
};

class ReplayPage : public QWidget {
  Q_OBJECT
 public:
  explicit ReplayPage(QWidget* parent = nullptr);
  void setRun(std::shared_ptr<const TraceIndex> index, uint32_t chunks, std::vector<ir::MemorySample> memory,
              const QString& title);
  void clear();  // back to the hint: no run (another store was opened)
  QString titleText() const;
  ReplayModel& model() { return model_; }
  TimelineWidget* timeline() const { return timeline_; }
  StageBars* bars() const { return bars_; }

 private:
  void refresh();

  ReplayModel model_;
  std::unique_ptr<TimelineModel> timeline_model_;
  QLabel* title_;
  QLabel* clock_;
  QPushButton* play_;
  QComboBox* speed_;
  QSlider* slider_;
  TimelineWidget* timeline_;
  StageBars* bars_;
  QLabel* memory_title_;
};

}  // namespace paci::gui
