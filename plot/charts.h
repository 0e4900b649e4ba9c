// Charts as plain data (lines with seed bands, bars with intervals, a heat map) and a renderer that
// draws them with Qt Charts offscreen into PNG and SVG files. What `paci study report` plots; it
// knows nothing of runs or schedules, only numbers and labels.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proto/status.h"

namespace paci::plot {

// One line; with lo/hi (same length as x) a shaded band around it, e.g. mean +- sd over seeds.
// `color` ("#rrggbb"; empty: the palette by position) and `dash` (0 solid, then kDashStyles distinct
// patterns) let a caller keep one colour per family of series and tell its members apart past the
// ten colours a palette can offer.
struct Series {
  std::string name;
  std::vector<double> x, y, lo, hi;
  std::string color;
  int dash = 0;
};
inline constexpr int kDashStyles = 8;

struct LineChart {
  std::string title, x_label, y_label;
  std::vector<Series> series;
};

// One bar with a 95 % interval drawn as a whisker. Without an interval (`interval` false) the label
// says "no interval"; a whisker that runs past the axis (below 0, or beyond the axis the chart
// chose so the bars stay readable) ends in an arrowhead at the edge, and the chart says so.
struct Bar {
  std::string label;
  double value = 0, lo = 0, hi = 0;
  bool interval = true;
  std::string color;  // "#rrggbb"; empty: the palette's first
};

struct BarChart {
  std::string title, y_label;
  std::vector<Bar> bars;
};

// value[row][column]; nullopt cells are left blank. Colours diverge around zero on a scale of
// -+`scale` (values beyond saturate, their labels keep the value); 0: the largest |value| of this map.
// Maps meant to be compared side by side share one fixed scale.
struct HeatMap {
  std::string title, x_label, y_label;
  std::vector<std::string> columns, rows;
  std::vector<std::vector<std::optional<double>>> value;
  double scale = 0;
};

// Owns the offscreen Qt application the charts need. One per process at a time (Qt's rule);
// sets QT_QPA_PLATFORM=offscreen unless the caller chose a platform.
class Renderer {
 public:
  Renderer();
  ~Renderer();
  Renderer(const Renderer&) = delete;
  Renderer& operator=(const Renderer&) = delete;

  // Each writes `<stem>.png` and `<stem>.svg`; errors name the file.
  Status Write(const LineChart& chart, const std::string& stem);
  Status Write(const BarChart& chart, const std::string& stem);
  Status Write(const HeatMap& map, const std::string& stem);

 private:
  struct App;
  std::unique_ptr<App> app_;
};

}  // namespace paci::plot
