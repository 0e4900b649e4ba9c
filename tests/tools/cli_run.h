// Runs the real `paci` binary (PACI_BIN, set by CMake) as a user would, through the shell, and
// returns its exit code, stdout and stderr. Shared by the command-line tests of every folder.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace paci::testing {

struct CliRun {
  int code = -1;
  std::string out, err;
};

inline std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The smallest model `paci train` trains: a run of a few updates takes well under a second.
inline constexpr const char* kTinyModel =
    "--layers 1 --dim 16 --heads 2 --seq 8 --microbatch-size 2 --eval-every 0 --eval-batches 1";

// `env` is put before the binary ("NAME=value ..."): variables for this run only.
inline CliRun Paci(const std::string& args, const std::string& env = "") {
  static int counter = 0;
  const auto dir = std::filesystem::temp_directory_path();
  const std::string tag = std::to_string(::getpid()) + "_" + std::to_string(counter++);
  const std::string out = (dir / ("paci_cli_out_" + tag)).string(), err = (dir / ("paci_cli_err_" + tag)).string();
  const int status = std::system((env + " " + PACI_BIN + " " + args + " >" + out + " 2>" + err).c_str());
  CliRun r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = ReadWholeFile(out);
  r.err = ReadWholeFile(err);
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  return r;
}

}  // namespace paci::testing
