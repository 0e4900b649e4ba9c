// `paci export --run ID --format chrome|csv [-o FILE]`: a stored run as Chrome trace-event JSON
// (opens in Perfetto and chrome://tracing) or as CSV, to standard output without -o.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <memory>
#include <string>

#include "proto/exit_codes.h"
#include "store/chrome_trace.h"
#include "store/csv_trace.h"
#include "store/trace_store.h"
#include "tools/commands.h"
#include "tools/simulated_runs.h"

namespace paci::cli {
namespace {

struct ExportFlags {
  std::string db = "paci.db";
  int64_t run = 0;
  std::string format = "chrome";
  std::string out;
};

void Export(const ExportFlags& f) {
  auto store = OpenStoreForReading(f.db);
  if (!store.ok()) Fail(kExitBadInput, store.status().message());
  auto run = store->LoadRun(f.run);
  if (!run.ok()) Fail(run.status());
  const std::string text = f.format == "csv" ? store::ExportCsv(*run) : store::ExportChromeTrace(*run);
  if (f.out.empty()) {
    fmt::print("{}", text);
    return;
  }
  std::ofstream out(f.out, std::ios::binary);
  out << text;
  if (!out.flush()) Fail(kExitRuntimeError, fmt::format("{}: cannot write", f.out));
}

}  // namespace

void AddExportCommand(CLI::App& app) {
  auto flags = std::make_shared<ExportFlags>();
  CLI::App* cmd = app.add_subcommand("export", "write a stored run as Chrome trace JSON or CSV");
  cmd->add_option("--run", flags->run, "run id (see `paci runs list`)")->required();
  cmd->add_option("--format", flags->format, "chrome or csv")
      ->check(CLI::IsMember({"chrome", "csv"}))
      ->capture_default_str();
  cmd->add_option("-o,--output", flags->out, "output file (default: standard output)");
  cmd->add_option("--db", flags->db, "trace store file")->capture_default_str();
  cmd->callback([flags] { Export(*flags); });
}

}  // namespace paci::cli
