#include "gui/model/time_axis.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace paci::gui {
namespace {
// Beyond this the view would show a nanosecond across thousands of pixels: nothing to see.
constexpr double kMinNsPerPx = 0.01;
}  // namespace

// Non-finite input (a NaN from a damaged trace or a zero-size widget) leaves the axis as it was:
// one NaN in origin_ns or ns_per_px would spread to every later computation.
void TimeAxis::Fit(double extent, double width) {
  extent_ns = std::isfinite(extent) ? std::max(extent, 1.0) : 1.0;
  width_px = std::isfinite(width) ? std::max(width, 1.0) : 1.0;
  const double margin = 0.01 * extent_ns;
  ShowRange(-margin, extent_ns + margin);
}

void TimeAxis::ShowRange(double t0, double t1) {
  if (!std::isfinite(t0) || !std::isfinite(t1)) return;
  if (t1 <= t0) t1 = t0 + 1;
  ns_per_px = (t1 - t0) / width_px;
  origin_ns = t0;
  Clamp();
}

void TimeAxis::ZoomAbout(double x, double factor) {
  if (!(factor > 0) || !std::isfinite(factor) || !std::isfinite(x)) return;
  const double anchor = ToNs(x);
  ns_per_px /= factor;
  Clamp();
  origin_ns = anchor - x * ns_per_px;
  Clamp();
}

void TimeAxis::Pan(double dx_px) {
  if (!std::isfinite(dx_px)) return;
  origin_ns -= dx_px * ns_per_px;
  Clamp();
}

void TimeAxis::Clamp() {
  // Zoomed out no further than twice the data; panned no further than half a screen past it.
  const double max_ns_per_px = 2.0 * extent_ns / width_px;
  ns_per_px = std::clamp(ns_per_px, kMinNsPerPx, std::max(kMinNsPerPx, max_ns_per_px));
  const double span = width_px * ns_per_px;
  origin_ns = std::clamp(origin_ns, -0.5 * span, std::max(-0.5 * span, extent_ns - 0.5 * span));
}

double TimeAxis::TickStep(double min_px) const {
  const double min_ns = std::max(min_px * ns_per_px, 1e-9);
  if (!std::isfinite(min_ns)) return std::max(extent_ns, 1.0);  // NaN would never be reached
  double decade = std::pow(10.0, std::floor(std::log10(min_ns)));
  for (;;) {
    for (double m : {1.0, 2.0, 5.0}) {
      if (m * decade >= min_ns * (1 - 1e-12)) return m * decade;
    }
    decade *= 10;
  }
}

std::vector<double> TimeAxis::Ticks(double min_px) const {
  const double step = TickStep(min_px);
  std::vector<double> ticks;
  const double first = std::ceil(VisibleStart() / step) * step;
  for (double t = first; t <= VisibleEnd() + 1e-9 * step; t += step) {
    ticks.push_back(std::abs(t) < 1e-9 * step ? 0.0 : t);
    if (ticks.size() > 10000) break;  // cannot happen with a sane min_px; a guard, not a rule
  }
  return ticks;
}

std::string FormatTime(double ns, double step_ns) {
  struct Unit { double scale; const char* name; };
  static constexpr Unit kUnits[] = {{1e9, "s"}, {1e6, "ms"}, {1e3, "us"}, {1, "ns"}};
  // Unit from the value (1.5 ms, not 1500 us), decimals from the step so neighbours differ.
  const double mag = std::max({std::abs(ns), std::abs(step_ns), 1e-9});
  for (const Unit& u : kUnits) {
    if (mag >= u.scale || u.scale == 1) {
      // Decimals from the step's magnitude, one more for steps like 0.25.
      const double in_unit = std::abs(step_ns / u.scale);
      auto whole = [&](int d) {
        const double v = in_unit * std::pow(10, d);
        return std::abs(v - std::round(v)) < 1e-6 * std::max(1.0, v);
      };
      int decimals = in_unit >= 1 ? 0 : std::min(6, static_cast<int>(std::ceil(-std::log10(in_unit) - 1e-9)));
      if (decimals < 6 && !whole(decimals) && whole(decimals + 1)) ++decimals;
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.*f %s", decimals, ns / u.scale, u.name);
      return buf;
    }
  }
  return {};
}

}  // namespace paci::gui
