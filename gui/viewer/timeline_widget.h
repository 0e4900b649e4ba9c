// TimelineWidget: paints one or more TimelineModels stacked on one shared TimeAxis with a time
// ruler on top, and turns mouse and keys into axis and selection changes (wheel zooms about the
// cursor, drag pans, click selects, W/S zoom and A/D pan as in Perfetto; Shift+drag zooms to a
// time range and Z / Backspace zooms back; Ctrl+drag or Alt+drag selects an area of lanes x time;
// n / N step through search matches). All geometry, hit testing, search and statistics are the
// models'; this class only paints and forwards input.
#pragma once

#include <QString>
#include <QWidget>
#include <functional>
#include <optional>
#include <vector>

#include "gui/model/time_axis.h"
#include "gui/model/timeline_model.h"

namespace paci::gui {

class TimelineWidget : public QWidget {
  Q_OBJECT
 public:
  struct Track {
    QString title;
    TimelineModel* model = nullptr;                // not owned; the page keeps it alive while shown
    std::function<QString(size_t)> extra_tooltip;  // appended to the model's tooltip
  };

  explicit TimelineWidget(QWidget* parent = nullptr);

  void setTracks(std::vector<Track> tracks);
  int trackCount() const { return static_cast<int>(tracks_.size()); }
  void fit();  // whole run across the width
  const TimeAxis& axis() const { return axis_; }
  void showRange(double t0, double t1);
  // What an empty widget (no tracks) says in its middle; it draws no time ruler, since there is
  // no time to measure (an empty axis once read "-6 ns").
  void setEmptyText(const QString& text);
  const QString& emptyText() const { return empty_text_; }
  // The times the ruler labels now: none while there are no tracks.
  std::vector<double> rulerTicks() const;
  // The tick labels drawn now, each with its text's left x. A label that would run past the
  // right edge is left out (its tick stays): the last one used to be drawn cut off.
  std::vector<std::pair<double, QString>> rulerLabels() const;
  // Replay: a vertical line at t and a set of ops (of track 0) drawn emphasised.
  void setPlayHead(std::optional<double> t, std::vector<size_t> emphasised = {});
  // How an op of track 0 is drawn under the play head: done ops in their colours, the ops in
  // flight outlined, the ops still to come washed out (past and future looked alike before,
  // only the red line moved). kNormal without a play head.
  enum class ReplayLook { kNormal, kDone, kInFlight, kFuture };
  ReplayLook replayLook(size_t op) const;

  // Shows [t0, t1] and remembers the range shown before, for zoomBack() (Shift+drag does this).
  void zoomToRange(double t0, double t1);
  // Back to the range shown before the last zoomToRange(); false when there is none.
  bool zoomBack();
  bool canZoomBack() const { return !zoom_back_.empty(); }

  // Search matches of track 0 (indices into its ops, any order), drawn outlined, and the current
  // one drawn thicker. Empty: no search.
  void setHighlights(std::vector<size_t> ops, std::optional<size_t> current = std::nullopt);
  bool highlighted(size_t op) const;
  // Puts op (of track 0) in the middle of the view (or as near as the run's ends allow), keeping
  // the zoom unless the op is wider than the view or under 2 px wide.
  void centreOn(size_t op);

  // An area selection: stages [first, last] of one track over [t0, t1].
  struct Area {
    int track = 0;
    uint32_t first_stage = 0, last_stage = 0;
    double t0 = 0, t1 = 0;
  };
  const std::optional<Area>& area() const { return area_; }
  void clearArea();

  QSize sizeHint() const override;
  QSize minimumSizeHint() const override { return {400, 120}; }

 signals:
  void opSelected(int track, qint64 op_index);  // -1: nothing
  void axisChanged();
  void zoomHistoryChanged();  // canZoomBack() may have changed
  void areaSelected(const TimelineWidget::Area& area);
  void areaCleared();
  void searchStep(int dir);  // n: +1, N: -1

 protected:
  void paintEvent(QPaintEvent*) override;
  void resizeEvent(QResizeEvent*) override;
  void wheelEvent(QWheelEvent*) override;
  void mousePressEvent(QMouseEvent*) override;
  void mouseMoveEvent(QMouseEvent*) override;
  void mouseReleaseEvent(QMouseEvent*) override;
  void keyPressEvent(QKeyEvent*) override;
  bool event(QEvent*) override;

 private:
  double trackTop(int t) const;  // widget y of track t's first lane
  // Track and model-local point under a widget position, if any.
  std::optional<std::pair<int, QPointF>> locate(QPointF pos) const;
  void paintRuler(QPainter& p);
  void paintTrack(QPainter& p, int t);
  void paintSelection(QPainter& p, int t);
  void paintHighlights(QPainter& p);
  void paintArea(QPainter& p);
  void changed();
  // What a left-button drag does, chosen by the modifiers held when it starts.
  enum class Drag { kPan, kZoomRange, kArea };
  void finishArea(QPointF end);

  std::vector<Track> tracks_;
  QString empty_text_ = tr("No run to show.");
  TimeAxis axis_;
  std::optional<double> play_head_;
  std::vector<size_t> emphasised_;
  QPointF press_pos_;
  QPointF press_origin_;  // where the drag started (press_pos_ follows a pan)
  QPointF drag_now_;
  Drag drag_ = Drag::kPan;
  std::vector<std::pair<double, double>> zoom_back_;  // ranges shown before each zoomToRange
  std::vector<size_t> highlights_;                    // sorted
  std::optional<size_t> current_match_;
  std::optional<Area> area_;
  bool dragging_ = false;
  bool pressed_ = false;
};

}  // namespace paci::gui
