#include "gui/viewer/run_browser.h"

#include <QComboBox>
#include <QEvent>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QTableView>
#include <QVBoxLayout>
#include <algorithm>

#include "proto/ir_names.h"

namespace paci::gui {

RunBrowser::RunBrowser(QWidget* parent) : QWidget(parent) {
  filter_.setSourceModel(&model_);
  kind_ = new QComboBox;
  kind_->addItems({tr("any kind"), tr("predicted"), tr("measured")});
  schedule_ = new QComboBox;
  schedule_->addItem(tr("any schedule"));
  for (const auto& n : AllScheduleNames()) schedule_->addItem(QString::fromStdString(n));
  auto spin = [](const QString& any) {
    auto* s = new QSpinBox;
    s->setRange(0, 4096);
    s->setSpecialValueText(any);  // 0 means "no constraint"
    return s;
  };
  stages_ = spin(tr("any P"));
  accum_ = spin(tr("any K"));
  auto* filters = new QHBoxLayout;
  filters->addWidget(new QLabel(tr("Filter:")));
  for (QWidget* w : std::initializer_list<QWidget*>{kind_, schedule_, stages_, accum_}) {
    filters->addWidget(w);
  }
  filters->addStretch();
  auto* open = new QPushButton(tr("Open timeline"));
  auto* compare = new QPushButton(tr("Compare two"));
  compare->setObjectName(QStringLiteral("compare"));
  compare->setToolTip(tr("The two selected runs side by side; one run with a linked prediction: "
                         "the run and its prediction"));
  auto* curves = new QPushButton(tr("Curves"));
  filters->addWidget(open);
  filters->addWidget(compare);
  filters->addWidget(curves);

  table_ = new QTableView;
  table_->setModel(&filter_);
  table_->setSortingEnabled(true);
  table_->sortByColumn(RunListModel::kId, Qt::AscendingOrder);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  table_->verticalHeader()->hide();
  table_->viewport()->installEventFilter(this);
  // State right after Name: in a narrow window the columns right of the view scroll, and whether a
  // run completed is read with its name, not after twelve numbers.
  table_->horizontalHeader()->moveSection(RunListModel::kState, RunListModel::kName + 1);
  table_->horizontalHeader()->setStretchLastSection(false);
  hint_ = new QLabel(tr("Double-click a run to open its timeline; select two to compare."));
  empty_ = new QLabel;
  empty_->setAlignment(Qt::AlignCenter);
  empty_->setWordWrap(true);
  empty_->setTextFormat(Qt::RichText);
  empty_->setStyleSheet(QStringLiteral("QLabel { font-size: 12pt; padding: 24px; }"));

  auto* layout = new QVBoxLayout(this);
  layout->addLayout(filters);
  layout->addWidget(table_, 1);
  layout->addWidget(empty_, 1);
  layout->addWidget(hint_);
  showEmptyHint();

  connect(kind_, &QComboBox::currentIndexChanged, this, &RunBrowser::applyFilter);
  connect(schedule_, &QComboBox::currentIndexChanged, this, &RunBrowser::applyFilter);
  connect(stages_, &QSpinBox::valueChanged, this, &RunBrowser::applyFilter);
  connect(accum_, &QSpinBox::valueChanged, this, &RunBrowser::applyFilter);
  connect(table_, &QTableView::doubleClicked, this, [this](const QModelIndex& i) {
    emit openRun(i.data(RunListModel::RunIdRole).toLongLong());
  });
  connect(open, &QPushButton::clicked, this, [this] {
    const auto ids = selectedIds();
    if (!ids.empty()) emit openRun(ids.front());
  });
  connect(compare, &QPushButton::clicked, this, [this] {
    const auto ids = selectedIds();
    if (ids.size() >= 2) {
      emit compareRuns(ids[0], ids[1]);
      return;
    }
    // One run with a linked prediction (or the run a prediction predicts): that is the pair a
    // person means; the error column already names it.
    const RunSummary* run = ids.size() == 1 ? model_.runById(ids[0]) : nullptr;
    if (run && run->partner > 0 && model_.runById(run->partner)) {
      emit compareRuns(run->id, run->partner);
      return;
    }
    hint_->setText(run ? tr("Run %1 has no linked prediction: select a second run (Ctrl+click) to compare it with.").arg(run->id)
                       : tr("Select two runs (Ctrl+click) to compare them."));
  });
  connect(curves, &QPushButton::clicked, this, [this] { emit showCurves(selectedIds()); });
}

void RunBrowser::setRuns(std::vector<RunSummary> runs) {
  model_.setRuns(std::move(runs));
  table_->resizeColumnsToContents();
  showEmptyHint();
  fitColumns();
}

void RunBrowser::setStoreOpen(bool open) {
  store_open_ = open;
  showEmptyHint();
}

bool RunBrowser::showsEmptyHint() const { return !empty_->isHidden(); }

QString RunBrowser::emptyHintText() const { return empty_->text(); }

void RunBrowser::showEmptyHint() {
  const bool empty = model_.rowCount() == 0;
  if (!store_open_) {
    empty_->setText(tr("<p><b>No trace store is open.</b></p>"
                       "<p><b>File &gt; Open store…</b> (Ctrl+O) opens one: a <tt>.db</tt> written by "
                       "<tt>paci train</tt>, <tt>paci simulate</tt> or <tt>paci predict</tt>, or a "
                       "recorded one from <tt>traces/</tt>.</p>"
                       "<p>The <b>Explorer</b> tab needs no store: it simulates any schedule, P and K "
                       "in process.</p>"));
  } else {
    empty_->setText(tr("<p><b>This store has no runs yet.</b></p><p>Runs appear here once "
                       "<tt>paci train</tt>, <tt>paci simulate</tt> or <tt>paci predict</tt> write "
                       "into it; <b>File &gt; Open store…</b> opens another. The <b>Explorer</b> tab "
                       "needs no store.</p>"));
  }
  empty_->setVisible(empty);
  table_->setVisible(!empty);
  hint_->setVisible(!empty);
}

bool RunBrowser::eventFilter(QObject* watched, QEvent* e) {
  if (watched == table_->viewport() && e->type() == QEvent::Resize) fitColumns();
  return QWidget::eventFilter(watched, e);
}

void RunBrowser::fitColumns() {
  QHeaderView* header = table_->horizontalHeader();
  const int name = RunListModel::kName;
  // Name's own width: its longest text (what resizeColumnsToContents measured), at most 260 px.
  // (QTableView hides sizeHintForColumn; QAbstractItemView's is public.)
  const int text = static_cast<const QAbstractItemView*>(table_)->sizeHintForColumn(name);
  const int wanted = std::min(std::max(text, header->sectionSizeHint(name)), 260);
  int others = 0;
  for (int c = 0; c < model_.columnCount(); ++c) {
    if (c != name && !header->isSectionHidden(c)) others += header->sectionSize(c);
  }
  // Room left in the view goes to Name (it stretched before); never less than its text.
  const int room = table_->viewport()->width() - others;
  header->resizeSection(name, std::max(wanted, room));
}

std::vector<int64_t> RunBrowser::selectedIds() const {
  std::vector<int64_t> ids;
  for (const QModelIndex& i : table_->selectionModel()->selectedRows()) {
    ids.push_back(i.data(RunListModel::RunIdRole).toLongLong());
  }
  return ids;
}

void RunBrowser::selectIds(const std::vector<int64_t>& ids) {
  auto* sel = table_->selectionModel();
  sel->clearSelection();
  for (int r = 0; r < filter_.rowCount(); ++r) {
    const QModelIndex i = filter_.index(r, 0);
    const int64_t id = i.data(RunListModel::RunIdRole).toLongLong();
    if (std::find(ids.begin(), ids.end(), id) != ids.end()) {
      sel->select(i, QItemSelectionModel::Select | QItemSelectionModel::Rows);
    }
  }
}

void RunBrowser::applyFilter() {
  const int k = kind_->currentIndex();
  filter_.setKind(k == 0 ? std::nullopt
                         : std::optional<RunKind>(k == 1 ? RunKind::kPredicted : RunKind::kMeasured));
  filter_.setSchedule(schedule_->currentIndex() == 0 ? QString() : schedule_->currentText());
  filter_.setStages(stages_->value() ? std::optional<uint32_t>(stages_->value()) : std::nullopt);
  filter_.setAccum(accum_->value() ? std::optional<uint32_t>(accum_->value()) : std::nullopt);
}

}  // namespace paci::gui
