// `paci`: the command line. See README.md for the subcommands.
// A subcommand's handler reports failure by throwing CLI::RuntimeError(exit_code) after printing
// its one-line error; flag errors from CLI11 itself exit with 2.
#include <CLI/CLI.hpp>

#include "tools/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"paci: pipeline-parallel schedules, simulation and training with bounded drift"};
  app.require_subcommand(1);
  paci::cli::AddScheduleCommand(app);
  paci::cli::AddRunsCommand(app);
  paci::cli::AddExportCommand(app);
  paci::cli::AddImportCommand(app);
  paci::cli::AddCompareCommand(app);
  paci::cli::AddSimulateCommand(app);
  paci::cli::AddSweepCommand(app);
  paci::cli::AddTrainCommand(app);
  paci::cli::AddProfileCommand(app);
  paci::cli::AddPredictCommand(app);
  paci::cli::AddSummaryCommand(app);
  paci::cli::AddStudyCommand(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::RuntimeError& e) {
    return e.get_exit_code();
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return 0;
}
