// Export of whatever a page shows: PNG through QWidget::grab, SVG by rendering the widget into a
// QSvgGenerator (vector output for papers). The format follows the file suffix.
#pragma once

#include <QString>

class QWidget;

namespace paci::gui {

// Writes path (.svg: vector, anything else: raster by suffix). False and *error on failure.
bool ExportWidget(QWidget* widget, const QString& path, QString* error);

}  // namespace paci::gui
