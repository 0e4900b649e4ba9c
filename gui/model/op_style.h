// How an op looks: a fill colour per op kind, lightened per micro-batch so neighbouring
// micro-batches are told apart, and the short label drawn inside wide boxes ("F3 v2"; with
// V > 1 chunks the chunk as a letter, "F3a" and "F3b", since one stage runs both). The legend's
// entries come from here too.
// Shared by the timeline, the replay and the SVG/PNG export so every picture agrees.
#pragma once

#include <QColor>
#include <QString>
#include <vector>

#include "gui/model/trace_index.h"

namespace paci::gui {

QColor OpKindColor(ir::OpKind kind);
QColor OpFill(const OpSpan& op);
// chunks: the run's V; above 1 the chunk is appended as a letter (a = chunk 0).
QString OpLabel(const OpSpan& op, bool with_version, uint32_t chunks = 1);

// One legend entry: a colour and what it stands for ("F  forward").
struct LegendEntry {
  QColor color;
  QString text;
};
// The op kinds a run has, in a fixed order, sends and receives of one kind as one entry (they
// share a colour). Reads the rows of the first and last stage only: between them they hold every
// kind a schedule uses (the first sends activations, the last sends gradients), so a 9 M-op run
// pays for a quarter of its ops at most, not all of them.
std::vector<LegendEntry> LegendFor(const TraceIndex& index);
// Fill of a zoomed-out lane drawn as busy fraction per pixel column (ops of mixed kinds).
QColor CoverageFill(ir::Lane lane);
// "1.5 GiB", "320 MiB"
QString FormatBytes(double bytes);

}  // namespace paci::gui
