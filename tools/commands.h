// The `paci` subcommands. Each Add*Command registers one subcommand (its flags and its handler)
// on the CLI11 app; handlers only parse flags, call the libraries and present the result.
// Exit codes: 0 success, 1 runtime failure, 2 bad flags or bad input.
#pragma once

#include <CLI/CLI.hpp>

namespace paci::cli {

void AddScheduleCommand(CLI::App& app);

}  // namespace paci::cli
