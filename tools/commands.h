// The `paci` subcommands. Each Add*Command registers one subcommand (its flags and its handler)
// on the CLI11 app; handlers only parse flags, call the libraries and present the result.
// Exit codes: 0 success, 1 runtime failure, 2 bad flags or bad input.
#pragma once

#include <CLI/CLI.hpp>

namespace paci::cli {

void AddScheduleCommand(CLI::App& app);
void AddRunsCommand(CLI::App& app);        // store: paci runs list|show|delete|link|merge
void AddRunsMergeCommand(CLI::App* runs);  // store + study: paci runs merge
void AddExportCommand(CLI::App& app);      // store: paci export --format chrome|csv
void AddImportCommand(CLI::App& app);      // store: paci import --format chrome
void AddCompareCommand(CLI::App& app);     // store: paci compare RUN_A RUN_B
void AddSimulateCommand(CLI::App& app);    // sim: paci simulate
void AddSweepCommand(CLI::App& app);       // sim: paci sweep (with --loss-curve: time to accuracy)
void AddPredictCommand(CLI::App& app);     // sim + store: paci predict --run ID
void AddSummaryCommand(CLI::App& app);     // store: paci summary RUN...
void AddTrainCommand(CLI::App& app);       // exec: paci train (unpipelined GPT training)
void AddProfileCommand(CLI::App& app);     // exec + sim: paci profile (per-layer costs on this machine)
void AddStudyCommand(CLI::App& app);       // exec + store: paci study (a grid of training runs)
CLI::App* AddStudyReportCommand(CLI::App* study);  // sim + store (+ plot): paci study report

}  // namespace paci::cli
