// ExplorerPage: controls for schedule, P, K (micro-batches per update), V and the costs (typed
// times, a model on hardware with its link and micro-batch size, or a measured profile); metric
// cards; the simulated timeline; and the K x P sweep heatmap whose cells open their
// configuration. Every control change goes to ExplorerModel, which re-simulates off the UI thread.
#pragma once

#include <QWidget>
#include <memory>

#include "gui/model/explorer_model.h"
#include "gui/model/timeline_model.h"

class QCheckBox;
class QComboBox;
class QFormLayout;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QScrollArea;
class QSpinBox;
class QSplitter;

namespace paci::gui {

class HeatmapWidget;
class OpLegend;
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

  // Where the costs come from (the "Costs" control), and the cost-model controls, for tests.
  enum class Costs { kTyped = 0, kHardware = 1, kProfile = 2 };
  QComboBox* costsControl() const { return costs_; }
  QComboBox* modelControl() const { return model_name_; }
  QComboBox* hardwareControl() const { return hardware_; }
  QComboBox* linkControl() const { return link_; }
  QLineEdit* profileControl() const { return profile_; }
  QSpinBox* microbatchControl() const { return microbatch_; }
  QLabel* stageCostsLabel() const { return stage_costs_; }
  // The banner under the cards that says why the last simulation failed (hidden otherwise).
  QLabel* errorBanner() const { return error_; }
  // The throughput and bubble cards: the steady state, with the simulated run's figure in the note.
  QLabel* throughputCard() const { return tokens_; }
  QLabel* throughputNote() const { return tokens_note_; }
  QLabel* bubbleCard() const { return bubble_; }
  QLabel* bubbleNote() const { return bubble_note_; }
  HeatmapWidget* heatmap() const { return heatmap_; }
  OpLegend* legend() const { return legend_; }

 protected:
  // The splitter has its real height only once the page is shown: fit the rows then, too.
  void showEvent(QShowEvent* e) override;
  void resizeEvent(QResizeEvent* e) override;

 private:
  QWidget* buildControls();
  QWidget* buildCards();
  void addCostControls(QFormLayout* form);
  void showCostRows();  // the rows the chosen cost source reads
  void showStageCosts(const ir::CostModel& cost);
  ExplorerConfig readControls() const;
  void showOutcome();
  void showFailure(const QString& message);  // clears cards and timeline, shows the banner
  void syncHeatmap();                        // the heatmap's outline and whether its grid is out of date
  void fitTimeline();

  ExplorerModel model_;
  QComboBox* schedule_;
  QSpinBox *p_, *k_, *v_, *length_;
  QDoubleSpinBox *fwd_, *bwd_, *opt_;
  QLineEdit* scale_;
  QComboBox *costs_, *model_name_, *hardware_, *link_;
  QLineEdit* profile_;
  QWidget* profile_box_;
  QSpinBox* microbatch_;
  QCheckBox* colocate_;
  QFormLayout* form_;
  QLineEdit *sweep_ks_, *sweep_ps_;
  QComboBox* metric_;
  QLabel *tokens_note_, *bubble_note_;  // "steady state" and the simulated run's figure
  QLabel *tokens_, *bubble_, *makespan_, *drift_, *peak_, *status_, *stage_costs_, *error_;
  TimelineWidget* timeline_;
  QScrollArea* timeline_scroll_;
  QSplitter* splitter_;
  HeatmapWidget* heatmap_;
  OpLegend* legend_;
  std::unique_ptr<TimelineModel> timeline_model_;
  QString outcome_status_;  // what the status line says about the shown outcome
  bool syncing_ = false;
};

}  // namespace paci::gui
