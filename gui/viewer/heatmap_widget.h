// HeatmapWidget: paints SweepData as a K (rows) x P (columns) grid for one metric, each cell
// coloured on a light-to-dark scale and labelled with its value; a click emits the cell.
#pragma once

#include <QWidget>

#include "gui/model/explorer_model.h"

namespace paci::gui {

class HeatmapWidget : public QWidget {
  Q_OBJECT
 public:
  explicit HeatmapWidget(QWidget* parent = nullptr);
  void setData(const SweepData& data, SweepMetric metric);
  void setMetric(SweepMetric metric);
  void setCurrent(uint32_t k, uint32_t p);  // outlined cell: the config on screen
  // Non-empty: the grid was swept for another configuration (what differs, e.g. "costs"); its
  // cells are washed out under a line saying so, until the next sweep.
  void setStale(const QString& reason);
  bool stale() const { return !stale_.isEmpty(); }
  bool sweepEmpty() const { return data_.empty(); }
  QString titleText() const;  // the line above the grid (or the placeholder when empty)
  // Empty, it is one line of placeholder text and asks for no more room than that, so the
  // explorer's timeline gets the height (at P = 8 in a 700 px window every stage row fits).
  QSize sizeHint() const override;
  QSize minimumSizeHint() const override;

 signals:
  void cellClicked(int k_index, int p_index);

 protected:
  void paintEvent(QPaintEvent*) override;
  void mouseReleaseEvent(QMouseEvent*) override;

 private:
  QRectF gridRect() const;
  QRectF cellRect(size_t ki, size_t pi) const;
  QString format(double v) const;

  SweepData data_;
  SweepMetric metric_ = SweepMetric::kThroughput;
  uint32_t current_k_ = 0, current_p_ = 0;
  QString stale_;
};

}  // namespace paci::gui
