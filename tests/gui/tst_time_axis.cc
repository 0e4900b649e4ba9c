// TimeAxis maths, data-driven (hotspot's tst_timelinedelegate): ns <-> px round trips, zoom about
// a point keeps that point's time fixed, pan moves by whole pixels, and ruler ticks follow the
// 1-2-5 sequence with at least the requested spacing.
#include <QtTest>
#include <cmath>

#include "gui/model/time_axis.h"

using paci::gui::FormatTime;
using paci::gui::TimeAxis;

class TimeAxisTest : public QObject {
  Q_OBJECT
 private slots:
  void mapping_data();
  void mapping();
  void zoomAbout_data();
  void zoomAbout();
  void pan();
  void clamps();
  void nonFinite();
  void ticks_data();
  void ticks();
  void format_data();
  void format();
};

void TimeAxisTest::mapping_data() {
  QTest::addColumn<double>("extent");
  QTest::addColumn<double>("width");
  QTest::addColumn<double>("time");
  QTest::newRow("start_1ms_1000px") << 1e6 << 1000.0 << 0.0;
  QTest::newRow("half_1ms_1000px") << 1e6 << 1000.0 << 5e5;
  QTest::newRow("end_1ms_1000px") << 1e6 << 1000.0 << 1e6;
  QTest::newRow("half_10s_333px") << 1e10 << 333.0 << 5e9;
}

void TimeAxisTest::mapping() {
  QFETCH(double, extent);
  QFETCH(double, width);
  QFETCH(double, time);
  TimeAxis a;
  a.Fit(extent, width);
  // Fit leaves a 1 % margin each side: [−1 %, 101 %] of the extent across the width.
  const double expected_x = (time + 0.01 * extent) / (1.02 * extent) * width;
  QVERIFY(std::abs(a.ToX(time) - expected_x) < 1e-6 * width);
  QVERIFY(std::abs(a.ToNs(a.ToX(time)) - time) < 1e-6 * extent);
}

void TimeAxisTest::zoomAbout_data() {
  QTest::addColumn<double>("x");
  QTest::addColumn<double>("factor");
  QTest::newRow("zoom_in_left") << 0.0 << 2.0;
  QTest::newRow("zoom_in_middle") << 500.0 << 4.0;
  QTest::newRow("zoom_in_right") << 1000.0 << 1.2;
  QTest::newRow("zoom_in_deep") << 250.0 << 1000.0;
  QTest::newRow("zoom_out_middle") << 500.0 << 0.8;
}

void TimeAxisTest::zoomAbout() {
  QFETCH(double, x);
  QFETCH(double, factor);
  TimeAxis a;
  a.Fit(1e6, 1000);
  a.ZoomAbout(500, 2);  // start zoomed in so zoom-out has room before the clamp
  const double before = a.ToNs(x), span_before = a.VisibleEnd() - a.VisibleStart();
  a.ZoomAbout(x, factor);
  QVERIFY2(std::abs(a.ToNs(x) - before) < 1e-6 * span_before,
           qPrintable(QStringLiteral("anchor moved from %1 to %2").arg(before).arg(a.ToNs(x))));
  QCOMPARE_LE(std::abs((span_before / (a.VisibleEnd() - a.VisibleStart())) / factor - 1), 1e-9);
}

void TimeAxisTest::pan() {
  TimeAxis a;
  a.Fit(1e6, 1000);
  a.ZoomAbout(500, 10);
  const double t = a.ToNs(300);
  a.Pan(100);  // drag right by 100 px: the time that was at 300 px is now at 400 px
  QVERIFY(std::abs(a.ToX(t) - 400) < 1e-9);
}

void TimeAxisTest::clamps() {
  TimeAxis a;
  a.Fit(1e6, 1000);
  a.ZoomAbout(500, 1e-6);  // cannot zoom out past twice the data
  QCOMPARE_LE(a.VisibleEnd() - a.VisibleStart(), 2e6 + 1);
  a.Pan(1e9);               // nor pan the data off screen
  QCOMPARE_GE(a.VisibleEnd(), 0.0);
  a.ZoomAbout(0, 1e12);     // nor zoom below 0.01 ns per pixel
  QCOMPARE_GE(a.ns_per_px, 0.01);
}

// A NaN reaching the axis once made TickStep loop forever (the ruler's decade never reached it).
void TimeAxisTest::nonFinite() {
  const double nan = std::nan(""), inf = INFINITY;
  TimeAxis a;
  a.Fit(nan, 1000);
  a.ShowRange(nan, 5);
  a.ZoomAbout(nan, 2);
  a.ZoomAbout(10, inf);
  a.Pan(nan);
  QVERIFY(std::isfinite(a.origin_ns) && std::isfinite(a.ns_per_px) && a.ns_per_px > 0);
  QVERIFY(!a.Ticks(90).empty());
  TimeAxis broken;
  broken.ns_per_px = nan;  // set from outside: the ruler still terminates
  QVERIFY(broken.TickStep(90) > 0);
  QVERIFY(broken.Ticks(90).size() <= 10001);
}

void TimeAxisTest::ticks_data() {
  QTest::addColumn<double>("ns_per_px");
  QTest::addColumn<double>("min_px");
  QTest::addColumn<double>("step");
  QTest::newRow("1ns_per_px_90px") << 1.0 << 90.0 << 100.0;
  QTest::newRow("1us_per_px_90px") << 1000.0 << 90.0 << 1e5;
  QTest::newRow("3ns_per_px_90px") << 3.0 << 90.0 << 500.0;
  QTest::newRow("11ns_per_px_100px") << 11.0 << 100.0 << 2000.0;
  QTest::newRow("exact_boundary") << 2.0 << 100.0 << 200.0;
}

void TimeAxisTest::ticks() {
  QFETCH(double, ns_per_px);
  QFETCH(double, min_px);
  QFETCH(double, step);
  TimeAxis a;
  a.extent_ns = 1e12;
  a.width_px = 1000;
  a.ns_per_px = ns_per_px;
  a.origin_ns = 12345;
  QCOMPARE(a.TickStep(min_px), step);
  const auto ticks = a.Ticks(min_px);
  QVERIFY(!ticks.empty());
  for (double t : ticks) {
    QVERIFY(t >= a.VisibleStart() && t <= a.VisibleEnd() + 1e-6);
    QVERIFY(std::abs(std::remainder(t, step)) < 1e-6 * step);
  }
  for (size_t i = 1; i < ticks.size(); ++i) QCOMPARE_GE(a.ToX(ticks[i]) - a.ToX(ticks[i - 1]), min_px - 1e-9);
}

void TimeAxisTest::format_data() {
  QTest::addColumn<double>("ns");
  QTest::addColumn<double>("step");
  QTest::addColumn<QString>("text");
  QTest::newRow("ms") << 1.5e6 << 5e5 << "1.5 ms";
  QTest::newRow("us") << 250e3 << 50e3 << "250 us";
  QTest::newRow("s") << 3e9 << 1e9 << "3 s";
  QTest::newRow("ns") << 40.0 << 20.0 << "40 ns";
  QTest::newRow("fine_ms") << 1.25e6 << 2.5e5 << "1.25 ms";
  QTest::newRow("clock_odd_step") << 59031815.0 << 131181.8 << "59.0 ms";
  QTest::newRow("zero_tick") << 0.0 << 1e7 << "0 ms";
}

void TimeAxisTest::format() {
  QFETCH(double, ns);
  QFETCH(double, step);
  QFETCH(QString, text);
  QCOMPARE(QString::fromStdString(FormatTime(ns, step)), text);
}

QTEST_APPLESS_MAIN(TimeAxisTest)
#include "tst_time_axis.moc"
