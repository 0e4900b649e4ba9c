// TimeAxis: the mapping between trace time (ns) and widget x (px) shared by the timeline, its
// ruler, the hit test and the replay play head. A plain value type with no Qt, so zoom, pan and
// tick choice are tested with numbers (hotspot's TimeLineData); widgets only hold one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace paci::gui {

struct TimeAxis {
  double origin_ns = 0;     // time at x = 0
  double ns_per_px = 1;     // > 0
  double width_px = 1000;   // drawable width
  double extent_ns = 1;     // data length: zoom-out and pan stop around [0, extent]

  double ToX(double ns) const { return (ns - origin_ns) / ns_per_px; }
  double ToNs(double x) const { return origin_ns + x * ns_per_px; }
  double VisibleStart() const { return origin_ns; }
  double VisibleEnd() const { return origin_ns + width_px * ns_per_px; }

  // Shows [0, extent] across width with a small margin on each side.
  void Fit(double extent, double width);
  // factor > 1 zooms in. The time under x stays under x (what a mouse wheel user expects).
  void ZoomAbout(double x, double factor);
  // Moves the view by dx pixels (a drag to the right shows earlier times).
  void Pan(double dx_px);
  // Shows [t0, t1] across the width.
  void ShowRange(double t0, double t1);

  // Ruler step in ns from the 1-2-5 sequence: the smallest with ticks >= min_px apart.
  double TickStep(double min_px) const;
  // Tick times inside the visible range, multiples of TickStep(min_px).
  std::vector<double> Ticks(double min_px) const;

 private:
  void Clamp();
};

// "1.5 ms", "250 us", "3 s": a time with a unit chosen for the given step.
std::string FormatTime(double ns, double step_ns);

}  // namespace paci::gui
