// How an op looks: a fill colour per op kind, lightened per micro-batch so neighbouring
// micro-batches are told apart, and the short label drawn inside wide boxes ("F3 v2").
// Shared by the timeline, the replay and the SVG/PNG export so every picture agrees.
#pragma once

#include <QColor>
#include <QString>

#include "gui/model/trace_index.h"

namespace paci::gui {

QColor OpKindColor(ir::OpKind kind);
QColor OpFill(const OpSpan& op);
QString OpLabel(const OpSpan& op, bool with_version);
// Fill of a zoomed-out lane drawn as busy fraction per pixel column (ops of mixed kinds).
QColor CoverageFill(ir::Lane lane);
// "1.5 GiB", "320 MiB"
QString FormatBytes(double bytes);

}  // namespace paci::gui
