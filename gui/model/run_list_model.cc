#include "gui/model/run_list_model.h"

#include "gui/model/number_format.h"

namespace paci::gui {

void RunListModel::setRuns(std::vector<RunSummary> runs) {
  beginResetModel();
  runs_ = std::move(runs);
  endResetModel();
}

const RunSummary* RunListModel::runById(int64_t id) const {
  for (const auto& r : runs_) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

int RunListModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(runs_.size());
}

int RunListModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : kColumnCount; }

QVariant RunListModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
    return {};
  }
  const RunSummary& r = runs_[index.row()];
  if (role == RunIdRole) return QVariant::fromValue<qlonglong>(r.id);
  if (role == Qt::TextAlignmentRole) {
    const bool numeric = index.column() != kKind && index.column() != kName && index.column() != kSchedule &&
                         index.column() != kState;
    return QVariant::fromValue<int>(numeric ? Qt::AlignRight | Qt::AlignVCenter
                                            : Qt::AlignLeft | Qt::AlignVCenter);
  }
  if (role != Qt::DisplayRole && role != Qt::EditRole) return {};
  switch (index.column()) {
    case kId: return QVariant::fromValue<qlonglong>(r.id);
    case kKind: return QString::fromLatin1(RunKindName(r.kind));
    case kName: return QString::fromStdString(r.name);
    case kSchedule: return QString::fromStdString(r.schedule);
    case kStages: return r.stages;
    // 0 means "does not apply" (K of a flush schedule, M of an asynchronous one): the table
    // shows nothing; EditRole keeps the number for sorting.
    case kAccum: return r.accum || role == Qt::EditRole ? QVariant(r.accum) : QVariant(QString());
    case kMicrobatches:
      return r.microbatches || role == Qt::EditRole ? QVariant(r.microbatches) : QVariant(QString());
    case kChunks: return r.chunks;
    case kLr: return r.lr ? QVariant(*r.lr) : QVariant(QString());
    case kSeed: return r.seed ? QVariant::fromValue<qlonglong>(*r.seed) : QVariant(QString());
    // Results: text as a person reads it, the number itself for sorting (EditRole).
    case kValLoss:
      if (!r.val_loss) return QString();
      return role == Qt::EditRole ? QVariant(*r.val_loss) : QVariant(QString::number(*r.val_loss, 'f', 4));
    case kTokensPerS:
      // A simulation with typed costs knows no tokens per micro-batch: its micro-batches per
      // second, named so, rather than a blank where the explorer shows a throughput.
      if (!r.tokens_per_s && r.microbatches_per_s)
        return role == Qt::EditRole
                   ? QVariant(*r.microbatches_per_s)
                   : QVariant(FormatFixed(*r.microbatches_per_s, 1) + QStringLiteral(" mb/s"));
      if (!r.tokens_per_s) return QString();
      return role == Qt::EditRole ? QVariant(*r.tokens_per_s) : QVariant(FormatFixed(*r.tokens_per_s, 0));
    case kMakespan:
      if (!r.makespan_ns) return QString();
      return role == Qt::EditRole ? QVariant(*r.makespan_ns)
                                  : QVariant(FormatDuration(*r.makespan_ns));  // one format down the column
    case kError:
      if (!r.makespan_error_pct) return QString();
      return role == Qt::EditRole ? QVariant(*r.makespan_error_pct)
                                  : QVariant(QStringLiteral("%1% (run %2)")
                                                 .arg(FormatSignedPercent(*r.makespan_error_pct, 2))
                                                 .arg(r.partner));
    case kOps:
      return role == Qt::EditRole ? QVariant::fromValue<qlonglong>(r.op_count)
                                  : QVariant(FormatCount(r.op_count));
    case kState: return QString::fromStdString(r.state);
    default: return {};
  }
}

QVariant RunListModel::headerData(int section, Qt::Orientation o, int role) const {
  if (o == Qt::Horizontal && role == Qt::ToolTipRole && section == kError)
    return tr("Makespan error of the prediction linked to this run, (predicted - measured) / measured");
  if (o == Qt::Horizontal && role == Qt::ToolTipRole && section == kTokensPerS)
    return tr(
        "Tokens per second; \"mb/s\" (micro-batches per second) for a simulation whose costs name no "
        "tokens per micro-batch");
  if (o != Qt::Horizontal || role != Qt::DisplayRole) return {};
  static const char* kNames[kColumnCount] = {
      "ID",  "Kind", "Name", "Schedule", "P",        "K",        "M",
      "V",   "lr",   "Seed", "Val loss", "Tokens/s", "Makespan", "Error vs prediction",
      "Ops", "State"};
  return section >= 0 && section < kColumnCount ? QString::fromLatin1(kNames[section]) : QVariant();
}

RunFilterModel::RunFilterModel(QObject* parent) : QSortFilterProxyModel(parent) {
  setDynamicSortFilter(true);
}

void RunFilterModel::setKind(std::optional<RunKind> kind) {
  kind_ = kind;
  invalidateFilter();
}

void RunFilterModel::setSchedule(const QString& schedule) {
  schedule_ = schedule;
  invalidateFilter();
}

void RunFilterModel::setStages(std::optional<uint32_t> stages) {
  stages_ = stages;
  invalidateFilter();
}

void RunFilterModel::setAccum(std::optional<uint32_t> accum) {
  accum_ = accum;
  invalidateFilter();
}

bool RunFilterModel::filterAcceptsRow(int row, const QModelIndex& parent) const {
  auto* m = qobject_cast<const RunListModel*>(sourceModel());
  if (!m || parent.isValid() || row < 0 || row >= static_cast<int>(m->runs().size())) return true;
  const RunSummary& r = m->runs()[row];
  if (kind_ && r.kind != *kind_) return false;
  if (!schedule_.isEmpty() && QString::fromStdString(r.schedule) != schedule_) return false;
  if (stages_ && r.stages != *stages_) return false;
  if (accum_ && r.accum != *accum_) return false;
  return true;
}

bool RunFilterModel::lessThan(const QModelIndex& a, const QModelIndex& b) const {
  // Numbers sort as numbers, text as text: QVariant's ordering handles both.
  return QVariant::compare(a.data(Qt::EditRole), b.data(Qt::EditRole)) == QPartialOrdering::Less;
}

}  // namespace paci::gui
