#include "gui/viewer/run_browser.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QTableView>
#include <QVBoxLayout>

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
  table_->horizontalHeader()->setSectionResizeMode(RunListModel::kName, QHeaderView::Stretch);
  table_->verticalHeader()->hide();
  hint_ = new QLabel(tr("Double-click a run to open its timeline; select two to compare."));

  auto* layout = new QVBoxLayout(this);
  layout->addLayout(filters);
  layout->addWidget(table_);
  layout->addWidget(hint_);

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
    if (ids.size() >= 2) emit compareRuns(ids[0], ids[1]);
    else hint_->setText(tr("Select two runs (Ctrl+click) to compare them."));
  });
  connect(curves, &QPushButton::clicked, this, [this] { emit showCurves(selectedIds()); });
}

void RunBrowser::setRuns(std::vector<RunSummary> runs) {
  model_.setRuns(std::move(runs));
  table_->resizeColumnsToContents();
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
