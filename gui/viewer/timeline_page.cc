#include "gui/viewer/timeline_page.h"

#include <QLabel>
#include <QScrollArea>
#include <QVBoxLayout>

#include "gui/model/op_style.h"
#include "gui/viewer/timeline_widget.h"

namespace paci::gui {

TimelinePage::TimelinePage(QWidget* parent) : QWidget(parent) {
  header_ = new QLabel(tr("Open a run from the run browser."));
  details_ = new QLabel(tr("Wheel: zoom · drag: pan · W/S/A/D: zoom and pan · 0: fit · click: select an op"));
  details_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  timeline_ = new TimelineWidget;
  timeline_->setEmptyText(tr("Double-click a run in the Runs tab to see its timeline."));
  auto* scroll = new QScrollArea;
  scroll->setWidget(timeline_);
  scroll->setWidgetResizable(true);
  scroll->setFrameShape(QFrame::NoFrame);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(header_);
  layout->addWidget(scroll, 1);
  layout->addWidget(details_);
  connect(timeline_, &TimelineWidget::opSelected, this, [this](int, qint64 op) { showDetails(op); });
}

void TimelinePage::showDetails(int64_t op) {
  if (op < 0 || !model_) {
    details_->setText(tr("No op selected."));
    return;
  }
  const auto& e = model_->edges();
  details_->setText(model_->ToolTip(op).replace('\n', QStringLiteral("   ")) +
                    tr("   |  waits for %1 ops (orange), %2 ops wait for it (purple)")
                        .arg(e.before.size())
                        .arg(e.after.size()));
}

bool TimelinePage::selectOpId(uint64_t op_id) {
  if (!model_) return false;
  const int64_t i = model_->index().FindOpId(op_id);
  if (i < 0) return false;
  model_->Select(static_cast<size_t>(i));
  showDetails(i);
  timeline_->update();
  return true;
}

void TimelinePage::setRun(std::shared_ptr<const TraceIndex> index, uint32_t chunks,
                          const QString& title) {
  model_ = std::make_unique<TimelineModel>(std::move(index), chunks);
  const TraceIndex& ix = model_->index();
  header_->setText(QStringLiteral("<b>%1</b> &nbsp; %2 stages, %3 ops, makespan %4")
                       .arg(title.toHtmlEscaped())
                       .arg(ix.stages())
                       .arg(ix.ops().size())
                       .arg(QString::fromStdString(FormatTime(ix.makespan(), ix.makespan() / 1000.0))));
  timeline_->setTracks({{title, model_.get(), {}}});
}

}  // namespace paci::gui
