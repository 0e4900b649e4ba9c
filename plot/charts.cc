#include "plot/charts.h"

#include <sys/stat.h>
#include <unistd.h>

#include <QApplication>
#include <QAreaSeries>
#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
#include <QCategoryAxis>
#include <QChart>
#include <QGraphicsScene>
#include <QHorizontalStackedBarSeries>
#include <QImage>
#include <QLegend>
#include <QLegendMarker>
#include <QLineSeries>
#include <QPainter>
#include <QScatterSeries>
#include <QSvgGenerator>
#include <QValueAxis>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

namespace paci::plot {
namespace {

constexpr int kWidth = 960, kHeight = 600;

// Distinct colours for up to ten series (Tableau 10); more repeat.
QColor SeriesColor(size_t i) {
  static constexpr const char* kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                             "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
  return QColor(kPalette[i % 10]);
}

QString Q(const std::string& s) { return QString::fromStdString(s); }

QColor ColorOf(const std::string& hex, size_t position) {
  return hex.empty() ? SeriesColor(position) : QColor(Q(hex));
}

// Solid, then dash patterns (in pen widths) that stay apart when printed in grey.
QPen LinePen(const QColor& color, int dash) {
  static const QList<qreal> kPatterns[kDashStyles - 1] = {
      {6, 3}, {1.5, 2}, {8, 3, 1.5, 3}, {12, 4}, {3, 5}, {8, 3, 1.5, 3, 1.5, 3}, {4, 2, 4, 6}};
  QPen pen(color, 2);
  const int d = ((dash % kDashStyles) + kDashStyles) % kDashStyles;
  if (d > 0) pen.setDashPattern(kPatterns[d - 1]);
  return pen;
}

// Renders the chart (which the scene owns) into stem.png and stem.svg.
Status Render(QChart* chart, const std::string& stem, int height = kHeight) {
  QGraphicsScene scene;
  scene.addItem(chart);
  chart->resize(kWidth, height);
  const QRectF rect(0, 0, kWidth, height);
  QImage image(kWidth, height, QImage::Format_ARGB32);
  image.fill(Qt::white);
  {
    QPainter painter(&image);
    painter.setRenderHint(QPainter::Antialiasing);
    scene.render(&painter, rect, rect);
  }
  const std::string png = stem + ".png", svg = stem + ".svg";
  if (!image.save(Q(png), "PNG")) return Status::IoError(png + ": cannot write");
  QSvgGenerator generator;
  generator.setFileName(Q(svg));
  generator.setSize(QSize(kWidth, height));
  generator.setViewBox(rect);
  generator.setTitle(chart->title());
  {
    QPainter painter;
    if (!painter.begin(&generator)) return Status::IoError(svg + ": cannot write");
    scene.render(&painter, rect, rect);
  }
  return Status::Ok();
}

QChart* NewChart(const std::string& title) {
  auto* chart = new QChart;
  chart->setTitle(Q(title));
  chart->legend()->setAlignment(Qt::AlignRight);
  chart->legend()->setMarkerShape(QLegend::MarkerShapeFromSeries);  // a line sample shows the dash
  chart->setBackgroundBrush(Qt::white);
  return chart;
}

QValueAxis* ValueAxis(const std::string& label, double lo, double hi) {
  auto* axis = new QValueAxis;
  axis->setTitleText(Q(label));
  if (lo == hi) hi = lo + 1;
  axis->setRange(lo, hi);
  axis->applyNiceNumbers();
  axis->setLabelFormat("%g");
  return axis;
}

// Blue below zero, white at zero, red above; |v| >= scale saturates.
QColor Diverging(double v, double scale) {
  const double t = std::clamp(v / scale, -1.0, 1.0);
  const int fade = static_cast<int>(255 * (1 - std::abs(t)));
  return t >= 0 ? QColor(255, fade, fade) : QColor(fade, fade, 255);
}

// The colour key of a heat map: one legend entry per step of the diverging scale, +scale at the
// top to -scale at the bottom (HeatMap::scale; Qt Charts has no colour bar). Empty series: only their markers
// show.
void AddColourKey(QChart* chart, double scale) {
  for (double t : {1.0, 0.5, 0.0, -0.5, -1.0}) {
    auto* key = new QScatterSeries;
    key->setMarkerShape(QScatterSeries::MarkerShapeRectangle);
    key->setColor(Diverging(t * scale, scale));
    key->setBorderColor(Qt::gray);
    // U+2265 / U+2264: a legend reads "<" as the start of rich text.
    key->setName(t == 0             ? QString("0")
                 : std::abs(t) == 1 ? QString::fromUtf8(t > 0 ? "\u2265 " : "\u2264 ") +
                                          QString::asprintf("%+.3f", t * scale)
                                    : QString::asprintf("%+.3f", t * scale));
    chart->addSeries(key);
  }
}

}  // namespace

struct Renderer::App {
  int argc = 1;
  char name[16] = "paci-plot";
  char* argv[2] = {name, nullptr};
  QApplication app{argc, argv};
};

Renderer::Renderer() {
  if (std::getenv("QT_QPA_PLATFORM") == nullptr) setenv("QT_QPA_PLATFORM", "offscreen", 0);
  // Qt wants a private runtime directory (and warns without one); a private one under /tmp does.
  if (std::getenv("XDG_RUNTIME_DIR") == nullptr) {
    const std::string dir = "/tmp/paci-runtime-" + std::to_string(getuid());
    if (mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST) setenv("XDG_RUNTIME_DIR", dir.c_str(), 0);
  }
  app_ = std::make_unique<App>();
}

Renderer::~Renderer() = default;

Status Renderer::Write(const LineChart& c, const std::string& stem) {
  QChart* chart = NewChart(c.title);
  double x0 = std::numeric_limits<double>::max(), x1 = -x0, y0 = x0, y1 = -x0;
  std::vector<QAbstractSeries*> all;
  for (size_t i = 0; i < c.series.size(); ++i) {
    const Series& s = c.series[i];
    // Members of one colour family darken with their dash, so they part by shade as well.
    const QColor color =
        s.color.empty() ? SeriesColor(i) : ColorOf(s.color, i).darker(100 + 22 * (s.dash % kDashStyles));
    const bool band = s.lo.size() == s.x.size() && s.hi.size() == s.x.size() && !s.x.empty();
    if (band) {
      auto* lo = new QLineSeries;
      auto* hi = new QLineSeries;
      for (size_t j = 0; j < s.x.size(); ++j) {
        lo->append(s.x[j], s.lo[j]);
        hi->append(s.x[j], s.hi[j]);
        y0 = std::min(y0, s.lo[j]);
        y1 = std::max(y1, s.hi[j]);
      }
      auto* area = new QAreaSeries(hi, lo);
      QColor fill = color;
      fill.setAlpha(60);
      area->setBrush(fill);
      area->setPen(Qt::NoPen);
      chart->addSeries(area);
      chart->legend()->markers(area).front()->setVisible(false);
      all.push_back(area);
    }
    auto* line = new QLineSeries;
    line->setName(Q(s.name));
    line->setPen(LinePen(color, s.dash));
    for (size_t j = 0; j < s.x.size(); ++j) {
      line->append(s.x[j], s.y[j]);
      x0 = std::min(x0, s.x[j]);
      x1 = std::max(x1, s.x[j]);
      y0 = std::min(y0, s.y[j]);
      y1 = std::max(y1, s.y[j]);
    }
    chart->addSeries(line);
    all.push_back(line);
  }
  if (all.empty()) x0 = x1 = y0 = y1 = 0;
  QValueAxis* ax = ValueAxis(c.x_label, x0, x1);
  QValueAxis* ay = ValueAxis(c.y_label, y0, y1);
  chart->addAxis(ax, Qt::AlignBottom);
  chart->addAxis(ay, Qt::AlignLeft);
  for (QAbstractSeries* s : all) {
    s->attachAxis(ax);
    s->attachAxis(ay);
  }
  return Render(chart, stem);
}

// The value axis of a bar chart: up to the highest whisker, but no further than twice the longest
// bar, so one wide interval does not squeeze every bar into a sliver (its whisker is then marked).
double BarAxisTop(const std::vector<Bar>& bars) {
  double longest = 0, whiskers = 0;
  for (const Bar& b : bars) {
    longest = std::max(longest, b.value);
    if (b.interval) whiskers = std::max(whiskers, b.hi);
  }
  return std::max(longest, std::min(whiskers, 2 * longest)) * 1.05;
}

// An arrowhead at (x, y): the whisker goes on past the axis there.
void AddArrowhead(QChart* chart, QAbstractAxis* ax, QAbstractAxis* ay, double x, double y) {
  auto* head = new QScatterSeries;
  head->setMarkerShape(QScatterSeries::MarkerShapeTriangle);
  head->setMarkerSize(11);
  head->setColor(Qt::black);
  head->append(x, y);
  chart->addSeries(head);
  head->attachAxis(ax);
  head->attachAxis(ay);
}

// Horizontal bars, so long labels read whole on the left axis; bar i sits at y = i. One bar set per
// colour, stacked, so each bar keeps its own colour in its own row.
Status Renderer::Write(const BarChart& c, const std::string& stem) {
  const double top = BarAxisTop(c.bars);
  bool clipped = false;
  QStringList labels;
  std::vector<std::string> colors;
  for (const Bar& b : c.bars) {
    labels << Q(b.label + (b.interval ? "" : " (no interval)"));
    if (std::find(colors.begin(), colors.end(), b.color) == colors.end()) colors.push_back(b.color);
  }
  auto* bars = new QHorizontalStackedBarSeries;
  for (const std::string& color : colors) {
    auto* set = new QBarSet(Q(c.y_label));
    set->setColor(ColorOf(color, 0));
    set->setBorderColor(ColorOf(color, 0));
    for (const Bar& b : c.bars) *set << (b.color == color ? b.value : 0.0);
    bars->append(set);
  }
  QChart* chart = NewChart(c.title);
  chart->addSeries(bars);
  auto* ay = new QBarCategoryAxis;
  ay->append(labels);
  QValueAxis* ax = ValueAxis(c.y_label, 0, top);
  chart->addAxis(ax, Qt::AlignBottom);
  chart->addAxis(ay, Qt::AlignLeft);
  bars->attachAxis(ax);
  bars->attachAxis(ay);
  const double edge = ax->max();
  for (size_t i = 0; i < c.bars.size(); ++i) {
    const Bar& b = c.bars[i];
    if (!b.interval || b.lo == b.hi) continue;
    auto* whisker = new QLineSeries;
    whisker->setPen(QPen(Qt::black, 2));
    const double y = static_cast<double>(i), lo = std::max(0.0, b.lo), hi = std::min(edge, b.hi);
    for (const QPointF& p : {QPointF(lo, y - 0.15), QPointF(lo, y + 0.15), QPointF(lo, y), QPointF(hi, y),
                             QPointF(hi, y - 0.15), QPointF(hi, y + 0.15)})
      whisker->append(p);
    chart->addSeries(whisker);
    whisker->attachAxis(ax);
    whisker->attachAxis(ay);
    if (b.lo < 0) AddArrowhead(chart, ax, ay, 0, y);
    if (b.hi > edge) AddArrowhead(chart, ax, ay, edge, y);
    clipped = clipped || b.lo < 0 || b.hi > edge;
  }
  if (clipped) chart->setTitle(chart->title() + "<br>(a triangle: the interval runs on past the axis)");
  chart->legend()->setVisible(false);
  // Rows tall enough for their labels: Qt elides a category label that does not fit its row.
  return Render(chart, stem, std::max(kHeight, 140 + 24 * static_cast<int>(c.bars.size())));
}

Status Renderer::Write(const HeatMap& m, const std::string& stem) {
  QChart* chart = NewChart(m.title);
  const size_t nx = m.columns.size(), ny = m.rows.size();
  double scale = m.scale;
  if (scale <= 0)
    for (const auto& row : m.value)
      for (const auto& v : row)
        if (v) scale = std::max(scale, std::abs(*v));
  if (scale == 0) scale = 1;
  auto* ax = new QCategoryAxis;
  auto* ay = new QCategoryAxis;
  ax->setTitleText(Q(m.x_label));
  ay->setTitleText(Q(m.y_label));
  ax->setLabelsPosition(QCategoryAxis::AxisLabelsPositionOnValue);
  ay->setLabelsPosition(QCategoryAxis::AxisLabelsPositionOnValue);
  for (size_t i = 0; i < nx; ++i) ax->append(Q(m.columns[i]), static_cast<double>(i));
  for (size_t i = 0; i < ny; ++i) ay->append(Q(m.rows[i]), static_cast<double>(i));
  ax->setRange(-0.5, static_cast<double>(nx) - 0.5);
  ay->setRange(-0.5, static_cast<double>(ny) - 0.5);
  chart->addAxis(ax, Qt::AlignBottom);
  chart->addAxis(ay, Qt::AlignLeft);
  AddColourKey(chart, scale);
  // A cell is one square marker sized to the plot area, labelled with its value.
  const double plot_w = kWidth - 200.0, plot_h = kHeight - 160.0;
  const double cell = std::min(plot_w / std::max<size_t>(1, nx), plot_h / std::max<size_t>(1, ny));
  for (size_t r = 0; r < ny && r < m.value.size(); ++r)
    for (size_t col = 0; col < nx && col < m.value[r].size(); ++col) {
      if (!m.value[r][col]) continue;
      auto* s = new QScatterSeries;
      s->setMarkerShape(QScatterSeries::MarkerShapeRectangle);
      s->setMarkerSize(cell * 0.9);
      s->setColor(Diverging(*m.value[r][col], scale));
      s->setBorderColor(Qt::gray);
      s->append(static_cast<double>(col), static_cast<double>(r));
      s->setPointLabelsFormat(QString::number(*m.value[r][col], 'f', 3));
      s->setPointLabelsVisible(true);
      s->setPointLabelsColor(Qt::black);
      s->setPointLabelsClipping(false);
      chart->addSeries(s);
      chart->legend()->markers(s).front()->setVisible(false);  // the colour key explains it
      s->attachAxis(ax);
      s->attachAxis(ay);
    }
  return Render(chart, stem);
}

}  // namespace paci::plot
