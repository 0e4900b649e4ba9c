// `paci`: the command line. See README.md for the subcommands.
// A subcommand's handler fails by calling Fail(code, message) (proto/exit_codes.h); main() is the
// program's one exception boundary: flag errors from CLI11 exit 2, handler failures with their
// code, anything else 1 with its message, never an abort.
#include <CLI/CLI.hpp>

#include "proto/exit_codes.h"
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
  const auto who = [&app] {
    const std::vector<CLI::App*> sub = app.get_subcommands();
    return sub.empty() ? std::string("paci") : "paci " + sub.front()->get_name();
  };
  return paci::ExitBoundary(who, [&] {
    // CLI11 takes an empty value as "not given" and keeps the default: refuse it instead.
    for (int i = 1; i < argc; ++i)
      if (argv[i][0] == '\0')
        paci::Fail(paci::kExitBadInput,
                   i > 1 ? std::string("empty value after ") + argv[i - 1] : "empty argument");
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      const int rc = app.exit(e);
      return rc == 0 ? 0 : paci::kExitBadInput;
    }
    return 0;
  });
}
