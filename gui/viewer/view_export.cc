#include "gui/viewer/view_export.h"

#include <QFileInfo>
#include <QPainter>
#include <QPixmap>
#include <QSvgGenerator>
#include <QWidget>

namespace paci::gui {

bool ExportWidget(QWidget* widget, const QString& path, QString* error) {
  if (!widget) {
    if (error) *error = QStringLiteral("nothing to export");
    return false;
  }
  if (QFileInfo(path).suffix().compare(QLatin1String("svg"), Qt::CaseInsensitive) == 0) {
    QSvgGenerator svg;
    svg.setFileName(path);
    svg.setSize(widget->size());
    svg.setViewBox(QRect(QPoint(0, 0), widget->size()));
    svg.setTitle(widget->windowTitle());
    svg.setDescription(QStringLiteral("paci-viewer export"));
    QPainter p;
    if (!p.begin(&svg)) {
      if (error) *error = QStringLiteral("cannot write %1").arg(path);
      return false;
    }
    widget->render(&p);
    p.end();
    return true;
  }
  if (!widget->grab().save(path)) {
    if (error) *error = QStringLiteral("cannot write %1").arg(path);
    return false;
  }
  return true;
}

}  // namespace paci::gui
