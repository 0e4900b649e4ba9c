// TimelineModel: one run laid out as lanes, one per stage (compute band with thin send and receive
// bands under it), in pixels for a given TimeAxis. It yields the boxes to paint, answers "which op
// is under the mouse", owns the selection and its dependency edges and writes tooltips; the
// widget only paints. Not a QObject: tests drive it with numbers.
#pragma once

#include <QPointF>
#include <QRectF>
#include <QString>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "gui/model/op_dependencies.h"
#include "gui/model/run_overview.h"
#include "gui/model/time_axis.h"
#include "gui/model/trace_index.h"

namespace paci::gui {

struct LaneGeometry {
  double lane_height = 36;  // one stage, all three bands
  double lane_gap = 6;
  double comm_fraction = 0.18;  // height of each of the send and receive bands
};

class TimelineModel {
 public:
  TimelineModel(std::shared_ptr<const TraceIndex> index, uint32_t chunks, LaneGeometry geometry = {});

  // A long run whose ops are loaded a window at a time: `overview` draws the rows wherever the
  // loaded window does not cover the view, and index() is the window (SetWindow).
  void SetOverview(std::shared_ptr<const RunOverview> overview);
  const RunOverview* overview() const { return overview_.get(); }
  // Replaces the ops with those of [t0, t1] (ns from the run start); the selection is kept when
  // the new window holds the selected op.
  void SetWindow(std::shared_ptr<const TraceIndex> index, double t0, double t1);
  // Whether the ops in memory cover [t0, t1]: always for a run loaded whole.
  bool Covers(double t0, double t1) const { return !overview_ || (window_t0_ <= t0 && t1 <= window_t1_); }
  double window_start() const { return window_t0_; }
  double window_end() const { return window_t1_; }

  const TraceIndex& index() const { return *index_; }
  std::shared_ptr<const TraceIndex> shared_index() const { return index_; }
  const LaneGeometry& geometry() const { return geometry_; }
  uint32_t chunks() const { return chunks_; }
  double Height() const;
  // Band of (stage, lane) with y measured from the model's top and x spanning [0, width].
  QRectF LaneRect(uint32_t stage, ir::Lane lane, double width) const;
  QRectF StageRect(uint32_t stage, double width) const;
  // The stage whose row holds model-local y (a gap counts for the stage above; clamped to the
  // run's stages): turns the y extent of an area selection into stages.
  uint32_t StageAt(double y) const;

  struct Box {
    QRectF rect;
    size_t index;  // into index().ops()
  };
  // A row with more visible ops than pixel columns, as its busy fraction (0..1) per pixel
  // column (TraceIndex::BusyNs): the far-out zoom levels of a long run.
  struct Coverage {
    QRectF band;
    uint32_t stage;
    ir::Lane lane;
    std::vector<float> busy;  // one per pixel column of the axis
  };
  // Visible ops as boxes. Ops narrower than a pixel that land in an already drawn pixel column
  // are skipped. With `coverage`, rows denser than one op per pixel column are handed to it
  // instead, so a frame costs O(width x rows x log ops) however many ops are in view. A view
  // the loaded window does not cover is drawn from the overview alone, every row as coverage.
  void ForEachVisible(const TimeAxis& axis, const std::function<void(const Box&)>& fn,
                      const std::function<void(const Coverage&)>& coverage = {}) const;
  QRectF OpRect(size_t i, const TimeAxis& axis) const;
  // Op under p (model coordinates), preferring the shortest when measured ops overlap.
  std::optional<size_t> HitTest(QPointF p, const TimeAxis& axis) const;
  QString ToolTip(size_t i) const;

  void Select(std::optional<size_t> i);
  std::optional<size_t> selected() const { return selected_; }
  const OpEdges& edges() const { return edges_; }

 private:
  std::shared_ptr<const TraceIndex> index_;
  std::shared_ptr<const RunOverview> overview_;
  double window_t0_ = 0, window_t1_ = -1;  // what index_ covers when overview_ is set
  uint32_t chunks_;
  LaneGeometry geometry_;
  std::optional<size_t> selected_;
  OpEdges edges_;
  mutable std::unique_ptr<OpDependencies> deps_;  // built on the first selection
};

}  // namespace paci::gui
