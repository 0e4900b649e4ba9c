#include "gui/model/number_format.h"

#include <QLocale>
#include <algorithm>
#include <cmath>

namespace paci::gui {
namespace {
// The C locale with its group separator on (QLocale::c() omits it by default).
const QLocale& Grouped() {
  static const QLocale locale = [] {
    QLocale c = QLocale::c();
    c.setNumberOptions(QLocale::DefaultNumberOptions);
    return c;
  }();
  return locale;
}

// v, or +0 when it rounds to zero at `decimals`: "-0.00" is how -0.001 printed before.
double NoNegativeZero(double v, int decimals) {
  const double unit = 0.5 * std::pow(10.0, -decimals);
  return std::abs(v) < unit ? 0.0 : v;
}
}  // namespace

QString FormatCount(int64_t n) { return Grouped().toString(static_cast<qlonglong>(n)); }

QString FormatFixed(double v, int decimals) {
  return Grouped().toString(NoNegativeZero(v, decimals), 'f', decimals);
}

QString FormatPercent(double pct, int decimals) {
  return QString::number(NoNegativeZero(pct, decimals), 'f', decimals);
}

QString FormatSignedPercent(double pct, int decimals) {
  const double v = NoNegativeZero(pct, decimals);
  const QString s = QString::number(v, 'f', decimals);
  return v > 0 ? QStringLiteral("+") + s : s;
}

QString FormatDuration(double ns) {
  struct Unit {
    double scale;
    const char* name;
  };
  static constexpr Unit kUnits[] = {{1e9, "s"}, {1e6, "ms"}, {1e3, "us"}, {1, "ns"}};
  const double mag = std::abs(ns);
  for (const Unit& u : kUnits) {
    if (mag < u.scale * 0.99995 && u.scale > 1) continue;  // 999.96 us reads 1.000 ms
    const double v = ns / u.scale;
    // Four significant digits: 1.235, 12.35, 123.5, 1,235 (seconds only); whole nanoseconds.
    const int whole_digits =
        std::abs(v) < 1 ? 1 : static_cast<int>(std::floor(std::log10(std::abs(v) * 1.00005))) + 1;
    const int decimals = u.scale == 1 ? 0 : std::clamp(4 - whole_digits, 0, 3);
    return FormatFixed(v, decimals) + QLatin1Char(' ') + QLatin1String(u.name);
  }
  return {};
}

}  // namespace paci::gui
