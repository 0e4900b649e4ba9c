// How the viewer writes numbers a person reads: counts with thousands separators ("9,000,000
// ops", whatever the process locale, so a screenshot reads the same everywhere) and percentages
// that never say "-0.00 %" (a value that rounds to zero is written 0.00, without a sign).
#pragma once

#include <QString>
#include <cstdint>

namespace paci::gui {

QString FormatCount(int64_t n);                         // "1,234,567"
QString FormatFixed(double v, int decimals);            // "1,923.1"; never "-0.0"
QString FormatPercent(double pct, int decimals);        // "3.42", "0.00" (no % sign; callers add it)
QString FormatSignedPercent(double pct, int decimals);  // "+3.42", "-1.10", "0.00"
// A duration in the unit its size calls for, to four significant digits, so a column of them
// reads alike: "249.0 ms", "420.0 ms", "1.235 s", "-136.1 ms" (not "-136080.1 us"), "850 ns".
QString FormatDuration(double ns);

}  // namespace paci::gui
