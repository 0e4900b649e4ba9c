// RunListModel: the run browser's table (one row per stored run) and RunFilterModel, the proxy
// that keeps the rows matching kind, schedule, stage count and K. Roles: DisplayRole for text,
// RunIdRole for the run id in every column, so views select runs without parsing text.
#pragma once

#include <QAbstractTableModel>
#include <QSortFilterProxyModel>
#include <optional>
#include <vector>

#include "gui/model/run_trace.h"

namespace paci::gui {

class RunListModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Column { kId, kKind, kName, kSchedule, kStages, kAccum, kMicrobatches, kChunks, kLr,
                kSeed, kValLoss, kTokensPerS, kMakespan, kError, kOps, kState, kColumnCount };
  static constexpr int RunIdRole = Qt::UserRole + 1;

  explicit RunListModel(QObject* parent = nullptr) : QAbstractTableModel(parent) {}

  void setRuns(std::vector<RunSummary> runs);
  const std::vector<RunSummary>& runs() const { return runs_; }
  const RunSummary* runById(int64_t id) const;

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation o, int role = Qt::DisplayRole) const override;

 private:
  std::vector<RunSummary> runs_;
};

class RunFilterModel : public QSortFilterProxyModel {
  Q_OBJECT
 public:
  explicit RunFilterModel(QObject* parent = nullptr);

  // Empty optional or empty string: no constraint on that field.
  void setKind(std::optional<RunKind> kind);
  void setSchedule(const QString& schedule);
  void setStages(std::optional<uint32_t> stages);
  void setAccum(std::optional<uint32_t> accum);

 protected:
  bool filterAcceptsRow(int row, const QModelIndex& parent) const override;
  bool lessThan(const QModelIndex& a, const QModelIndex& b) const override;

 private:
  std::optional<RunKind> kind_;
  QString schedule_;
  std::optional<uint32_t> stages_, accum_;
};

}  // namespace paci::gui
