// `paci import --format chrome FILE`: reads a Chrome trace written by `paci export` back into a
// trace store as a new run (same ops, times, updates, memory samples and run description).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "proto/exit_codes.h"
#include "store/chrome_trace.h"
#include "store/trace_store.h"
#include "tools/commands.h"

namespace paci::cli {
namespace {

struct ImportFlags {
  std::string db = "paci.db";
  std::string format = "chrome";
  std::string file;
};

void Import(const ImportFlags& f) {
  std::ifstream in(f.file, std::ios::binary);
  if (!in) Fail(kExitBadInput, fmt::format("{}: cannot read", f.file));
  std::ostringstream text;
  text << in.rdbuf();
  auto run = store::ImportChromeTrace(text.str(), f.file);
  if (!run.ok()) Fail(kExitBadInput, run.status().message());
  auto store = store::TraceStore::Open(f.db);
  if (!store.ok()) Fail(kExitBadInput, store.status().message());
  auto id = store->ImportRun(*run);
  if (!id.ok()) Fail(kExitRuntimeError, id.status().message());
  fmt::print("imported run {} ({} ops) from {}\n", *id, run->ops.size(), f.file);
}

}  // namespace

void AddImportCommand(CLI::App& app) {
  auto flags = std::make_shared<ImportFlags>();
  CLI::App* cmd = app.add_subcommand("import", "read a trace written by `paci export` into a store");
  cmd->add_option("FILE", flags->file, "trace file")->required();
  cmd->add_option("--format", flags->format, "input format")
      ->check(CLI::IsMember({"chrome"}))
      ->capture_default_str();
  cmd->add_option("--db", flags->db, "trace store file (created when missing)")->capture_default_str();
  cmd->callback([flags] { Import(*flags); });
}

}  // namespace paci::cli
