// AreaStats: what an area selection on the timeline (a rectangle over stage lanes x time) sums
// up: per selected stage its compute busy time, bubble (idle) fraction and op counts by kind, and
// the totals. Plain C++ over a TraceIndex (binary searches and prefix sums, so a range over
// millions of ops costs the ops it counts), tested without a widget; the page only shows the text.
#pragma once

#include <QString>
#include <array>
#include <cstdint>
#include <vector>

#include "gui/model/trace_index.h"

namespace paci::gui {

inline constexpr int kOpKindSlots = 10;  // ir::OpKind values 0..9

struct StageAreaStats {
  uint32_t stage = 0;
  double busy_ns = 0;                       // compute lane busy within [t0, t1]
  double bubble_fraction = 0;               // 1 - busy / (t1 - t0)
  std::array<int64_t, kOpKindSlots> ops{};  // ops (every lane) overlapping [t0, t1], by kind
};

struct AreaStats {
  double t0 = 0, t1 = 0;  // ns from the run start
  std::vector<StageAreaStats> stages;
  std::array<int64_t, kOpKindSlots> ops{};  // all selected stages
  double busy_ns = 0;                       // summed over the stages
  double bubble_fraction = 0;               // of stages x (t1 - t0)
};

// Stages [first, last] (clamped to the run's) over [t0, t1] (swapped when given backwards).
AreaStats ComputeAreaStats(const TraceIndex& index, uint32_t first_stage, uint32_t last_stage, double t0,
                           double t1);

// The panel's text, one line per stage and a total line:
// "stage 1: busy 1.20 ms, bubble 40.0 %, ops F 3 · B 3 · SEND_F 3".
QString FormatAreaStats(const AreaStats& stats);

}  // namespace paci::gui
