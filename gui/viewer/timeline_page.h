// TimelinePage: one run's timeline (lanes per stage) with a line of run facts above it and the
// selected op's details below. Owns the run's TimelineModel.
#pragma once

#include <QWidget>
#include <memory>

#include "gui/model/run_loader.h"
#include "gui/model/timeline_model.h"

class QLabel;

namespace paci::gui {

class TimelineWidget;

class TimelinePage : public QWidget {
  Q_OBJECT
 public:
  explicit TimelinePage(QWidget* parent = nullptr);
  // title: what the header says (run id and name, or the explorer config).
  void setRun(std::shared_ptr<const TraceIndex> index, uint32_t chunks, const QString& title);
  TimelineWidget* timeline() const { return timeline_; }
  TimelineModel* model() const { return model_.get(); }
  // Selects the op with this id (as a click would) and centres the view on it; false if absent.
  bool selectOpId(uint64_t op_id);

 private:
  void showDetails(int64_t op);

  QLabel* header_;
  QLabel* details_;
  TimelineWidget* timeline_;
  std::unique_ptr<TimelineModel> model_;
};

}  // namespace paci::gui
