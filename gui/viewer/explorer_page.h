// ExplorerPage: controls for schedule, P, K (micro-batches per update), V and stage costs; metric cards; the simulated
// timeline; and the K x P sweep heatmap whose cells open their configuration. Every control
// change goes to ExplorerModel, which re-simulates off the UI thread.
#pragma once

#include <QWidget>
#include <memory>

#include "gui/model/explorer_model.h"
#include "gui/model/timeline_model.h"

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QScrollArea;
class QSpinBox;
class QSplitter;

namespace paci::gui {

class HeatmapWidget;
class TimelineWidget;

class ExplorerPage : public QWidget {
  Q_OBJECT
 public:
  explicit ExplorerPage(std::shared_ptr<const SimBackend> backend, QWidget* parent = nullptr);
  ExplorerModel& model() { return model_; }
  TimelineWidget* timeline() const { return timeline_; }
  QScrollArea* timelineScroll() const { return timeline_scroll_; }
  void setConfig(const ExplorerConfig& c);  // updates the controls, then simulates
  void startSweep();

 protected:
  // The splitter has its real height only once the page is shown: fit the rows then, too.
  void showEvent(QShowEvent* e) override;
  void resizeEvent(QResizeEvent* e) override;

 private:
  QWidget* buildControls();
  QWidget* buildCards();
  ExplorerConfig readControls() const;
  void showOutcome();
  void fitTimeline();

  ExplorerModel model_;
  QComboBox* schedule_;
  QSpinBox *p_, *k_, *v_, *length_;
  QDoubleSpinBox *fwd_, *bwd_, *opt_;
  QLineEdit* scale_;
  QLineEdit *sweep_ks_, *sweep_ps_;
  QComboBox* metric_;
  QLabel *tokens_, *bubble_, *makespan_, *drift_, *peak_, *status_;
  TimelineWidget* timeline_;
  QScrollArea* timeline_scroll_;
  QSplitter* splitter_;
  HeatmapWidget* heatmap_;
  std::unique_ptr<TimelineModel> timeline_model_;
  QString outcome_status_;  // what the status line says about the shown outcome
  bool syncing_ = false;
};

}  // namespace paci::gui
