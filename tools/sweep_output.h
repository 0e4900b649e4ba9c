// The rows of `paci sweep` as its CSV and JSON write them: one column per figure of a row, the
// schedule, its staleness compensation and the variant name ("paci+rewind=1") that names the row,
// the steady state and time-to-accuracy columns where the sweep has them.
#pragma once

#include <string>
#include <vector>

#include "sim/sweep.h"
#include "study/time_to_accuracy.h"

namespace paci::cli {

// "paci+rewind=1": the row's schedule and compensation, as --schedules names it.
std::string SweepVariant(const sim::SweepRow& r);

// The rows as "csv" or "json"; `tta` empty or one entry per row.
std::string FormatSweepRows(const std::vector<sim::SweepRow>& rows, const std::vector<study::TtaEntry>& tta,
                            const std::string& format);

}  // namespace paci::cli
