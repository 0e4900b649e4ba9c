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
struct Series {
  std::string name;
  std::vector<double> x, y, lo, hi;
};

struct LineChart {
  std::string title, x_label, y_label;
  std::vector<Series> series;
};

// One bar with a 95 % interval drawn as a whisker (lo == hi: no whisker; clipped at 0).
struct Bar {
  std::string label;
  double value = 0, lo = 0, hi = 0;
};

struct BarChart {
  std::string title, y_label;
  std::vector<Bar> bars;
};

// value[row][column]; nullopt cells are left blank. Colours diverge around zero.
struct HeatMap {
  std::string title, x_label, y_label;
  std::vector<std::string> columns, rows;
  std::vector<std::vector<std::optional<double>>> value;
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
