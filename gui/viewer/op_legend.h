// OpLegend: one line above a timeline saying what its colours mean, a swatch per op kind the run
// has ("F  forward", "B  backward", ...), the shading by micro-batch and, for interleaved runs,
// what the chunk letters in the labels stand for. The entries come from op_style (LegendFor), so
// the legend and the boxes agree.
#pragma once

#include <QStringList>
#include <QWidget>
#include <vector>

#include "gui/model/op_style.h"

namespace paci::gui {

class OpLegend : public QWidget {
  Q_OBJECT
 public:
  explicit OpLegend(QWidget* parent = nullptr);
  // Empty entries hide the legend (no run shown).
  void setEntries(std::vector<LegendEntry> entries, uint32_t chunks);
  // summarised: the run is drawn (at least when zoomed out) as busy fraction per pixel column, in
  // one slate colour whatever the kinds: a run loaded a window at a time, or one with more ops per
  // stage than a screen has pixel columns. Its legend says so.
  void setRun(const TraceIndex& index, uint32_t chunks, bool summarised = false);
  QStringList texts() const;  // every item as written, the notes included (tests)
  // Items wrap onto more lines in a narrow window rather than being clipped.
  bool hasHeightForWidth() const override { return true; }
  int heightForWidth(int width) const override;
  QSize sizeHint() const override;
  QSize minimumSizeHint() const override { return {0, heightForWidth(width())}; }

 protected:
  void paintEvent(QPaintEvent*) override;

 private:
  // Where each item (entries, then notes) goes at this width, one line per kHeight.
  std::vector<QRect> place(int width) const;

  std::vector<LegendEntry> entries_;
  QStringList notes_;  // after the swatches, in grey
};

}  // namespace paci::gui
