#include "gui/model/number_format.h"

#include <QLocale>
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

}  // namespace paci::gui
