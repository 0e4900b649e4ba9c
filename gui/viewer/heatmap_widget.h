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
  QSize sizeHint() const override { return {520, 300}; }

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
};

}  // namespace paci::gui
