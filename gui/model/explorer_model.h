// ExplorerModel: the explorer page's state. Every config change re-simulates on a worker thread
// (QtConcurrent); a generation counter drops results of configs the user has already left, so
// the cards always match the config on screen. A K x P sweep fills heatmap data the same way.
// Lives in the UI thread; signals arrive there.
#pragma once

#include <QObject>
#include <QString>
#include <cstdint>
#include <memory>
#include <vector>

#include "gui/model/explorer_config.h"
#include "gui/model/sim_backend.h"

namespace paci::gui {

// A configuration with K and P zeroed: what a K x P sweep holds fixed. Two configurations with
// the same base share a sweep grid; any other change (costs, schedule, V, run length) makes the
// grid's numbers those of another configuration.
ExplorerConfig SweepBase(ExplorerConfig c);

enum class SweepMetric { kThroughput, kBubble, kMaxDrift };

// One (K, P) of a sweep. The heatmap shows the steady state; the simulated run's figures are kept
// beside it (they equal `paci simulate` for the cell's run length).
struct SweepCell {
  bool ok = false;
  double tokens_per_s = 0;
  double bubble_fraction = 0;
  double steady_tokens_per_s = 0;
  double steady_bubble_fraction = 0;
  double max_drift = 0;
  QString error;
  double Value(SweepMetric m) const;
};

struct SweepData {
  std::vector<uint32_t> ks, ps;
  ExplorerConfig base;           // the configuration swept, K and P zeroed (SweepBase)
  std::vector<SweepCell> cells;  // ks.size() rows of ps.size(): cells[ki * ps.size() + pi]
  const SweepCell& At(size_t ki, size_t pi) const { return cells[ki * ps.size() + pi]; }
  bool empty() const { return cells.empty(); }
};

class ExplorerModel : public QObject {
  Q_OBJECT
 public:
  explicit ExplorerModel(std::shared_ptr<const SimBackend> backend, QObject* parent = nullptr);

  bool hasBackend() const { return backend_ != nullptr; }
  const SimBackend* backend() const { return backend_.get(); }
  const ExplorerConfig& config() const { return config_; }
  void setConfig(const ExplorerConfig& config);  // re-simulates when it changed
  void setAccum(uint32_t k);
  void setStages(uint32_t p);

  bool busy() const { return pending_ > 0; }
  std::shared_ptr<const SimOutcome> outcome() const { return outcome_; }
  const QString& error() const { return error_; }

  // Simulates the current config with each (K, P); the rest of the config stays.
  void runSweep(std::vector<uint32_t> ks, std::vector<uint32_t> ps);
  const SweepData& sweep() const { return sweep_; }
  // Whether the sweep grid was computed for another configuration than the one on screen (apart
  // from K and P), and what differs ("costs", "schedule", ...): the heatmap says so, rather than
  // showing cells that disagree with the cards.
  bool sweepStale() const { return !sweep_.empty() && SweepBase(config_) != sweep_.base; }
  QString sweepStaleReason() const;
  // The config of one sweep cell (for "click a cell to open its timeline").
  ExplorerConfig cellConfig(size_t ki, size_t pi) const;

 signals:
  void outcomeReady();
  void failed(const QString& message);
  void sweepReady();
  void busyChanged(bool busy);

 private:
  void simulate();
  void setPending(int delta);

  std::shared_ptr<const SimBackend> backend_;
  ExplorerConfig config_;
  uint64_t generation_ = 0;
  uint64_t sweep_generation_ = 0;
  int pending_ = 0;
  std::shared_ptr<const SimOutcome> outcome_;
  QString error_;
  SweepData sweep_;
};

}  // namespace paci::gui
