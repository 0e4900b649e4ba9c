#include "gui/viewer/compare_page.h"

#include <QHeaderView>
#include <QLabel>
#include <QScrollArea>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include "gui/model/number_format.h"
#include "gui/viewer/op_legend.h"
#include "gui/viewer/timeline_widget.h"

namespace paci::gui {
namespace {
QString RunTitle(const char* role, const RunSummary& s) {
  return QStringLiteral("%1: #%2 %3 (%4)")
      .arg(QLatin1String(role))
      .arg(s.id)
      .arg(QString::fromStdString(s.name.empty() ? s.schedule : s.name))
      .arg(QLatin1String(RunKindName(s.kind)));
}
}  // namespace

ComparePage::ComparePage(QWidget* parent) : QWidget(parent) {
  headline_ = new QLabel(tr("Select two runs in the run browser and press \"Compare two\"."));
  headline_->setWordWrap(true);
  legend_ = new OpLegend;
  timeline_ = new TimelineWidget;
  timeline_->setEmptyText(
      tr("Pick two runs in the Runs tab (a prediction and the run it predicts) "
         "and press \"Compare two\"."));
  auto* scroll = new QScrollArea;
  scroll->setWidget(timeline_);
  scroll->setWidgetResizable(true);
  scroll->setFrameShape(QFrame::NoFrame);
  table_ = new QTableWidget;
  table_->verticalHeader()->hide();
  table_->hide();  // until there are two runs: an empty grid says nothing
  auto* split = new QSplitter(Qt::Vertical);
  split->addWidget(scroll);
  split->addWidget(table_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 1);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(headline_);
  layout->addWidget(legend_);
  layout->addWidget(split, 1);
}

void ComparePage::clear() {
  timeline_->setTracks({});  // before the model its tracks point into
  model_.reset();
  legend_->setEntries({}, 1);
  headline_->setText(tr("Select two runs in the run browser and press \"Compare two\"."));
  table_->clear();
  table_->setRowCount(0);
  table_->hide();
}

void ComparePage::showLoading(const QString& what) {
  clear();
  headline_->setText(tr("<b>Loading %1…</b>").arg(what.toHtmlEscaped()));
  timeline_->setEmptyText(tr("Loading %1… (the status bar shows how far)").arg(what));
}

QString ComparePage::headlineText() const { return headline_->text(); }

void ComparePage::setRuns(const RunTrace& a, const RunTrace& b) {
  model_ = std::make_unique<ComparisonModel>(a, b);
  headline_->setText(QStringLiteral("<b>A − B:</b> ") + model_->headline().toHtmlEscaped());
  ComparisonModel* m = model_.get();
  auto residual_tip = [m](size_t i) {
    const auto* r = m->residual(m->timelineA().index().op(i).op_id);
    if (!r) return QString();
    return QStringLiteral("\nresidual A − B: start %1, duration %2")
        .arg(FormatDuration(static_cast<double>(r->start_residual_ns)),
             FormatDuration(static_cast<double>(r->duration_residual_ns)));
  };
  timeline_->setTracks({{RunTitle("A", m->summaryA()), &m->timelineA(), residual_tip},
                        {RunTitle("B", m->summaryB()), &m->timelineB(), {}}});
  legend_->setRun(m->timelineA().index(), m->timelineA().chunks());
  fillTable();
  table_->show();
}

void ComparePage::fillTable() {
  const auto& rows = model_->stageErrors();
  const QStringList headers = {tr("stage"),
                               tr("busy A (ms)"),
                               tr("busy B (ms)"),
                               tr("busy error %"),
                               tr("bubble A %"),
                               tr("bubble B %"),
                               tr("mean |dur residual| (us)"),
                               tr("ops matched")};
  table_->clear();
  table_->setColumnCount(headers.size());
  table_->setHorizontalHeaderLabels(headers);
  table_->setRowCount(static_cast<int>(rows.size()));
  for (int r = 0; r < static_cast<int>(rows.size()); ++r) {
    const StageError& e = rows[r];
    // No matched op: there is no residual to average ("0.0" read as a perfect prediction).
    const bool matched = e.ops > 0;
    const QStringList cells = {
        QString::number(e.stage),
        FormatFixed(e.busy_a_ns / 1e6, 3),
        FormatFixed(e.busy_b_ns / 1e6, 3),
        FormatSignedPercent(e.busy_error_pct, 2),
        FormatPercent(100 * e.bubble_a, 1),
        FormatPercent(100 * e.bubble_b, 1),
        matched ? FormatFixed(e.mean_abs_duration_residual_ns / 1e3, 1) : tr("no matched ops"),
        FormatCount(e.ops)};
    for (int c = 0; c < cells.size(); ++c) {
      auto* item = new QTableWidgetItem(cells[c]);
      item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
      table_->setItem(r, c, item);
    }
  }
  table_->resizeColumnsToContents();
  // The timeline gets the room; the table only what its rows need.
  const int rows_height = table_->horizontalHeader()->height() + 4 +
                          table_->verticalHeader()->defaultSectionSize() * table_->rowCount();
  table_->setMaximumHeight(rows_height);
}

}  // namespace paci::gui
