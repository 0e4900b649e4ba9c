// The fixture the CLI hostile tests share: runs the real `paci` binary (PACI_BINARY) as a
// careless user types it, capturing exit code, output and time, in a fresh temporary folder.
#pragma once

#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "store/trace_store.h"
#include "tests/store/store_test_util.h"

namespace paci {

using store::testing::ReadBytes;
using store::testing::TempDir;
using store::testing::WriteBytes;

struct Outcome {
  int code = -1;
  std::string out, err;
  double seconds = 0;
};

class HostileCli : public ::testing::Test {
 protected:
  // Runs `[prefix] paci ARGS`, capturing exit code, standard output and standard error.
  Outcome Paci(const std::string& args, const std::string& prefix = "") {
    const std::string err_file = dir_.File("stderr.txt");
    const std::string cmd = prefix + std::string(PACI_BINARY) + " " + args + " 2>" + err_file;
    Outcome o;
    const auto t0 = std::chrono::steady_clock::now();
    FILE* p = popen(cmd.c_str(), "r");
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof(buf), p)) > 0;) o.out.append(buf, n);
    const int status = pclose(p);
    o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    o.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    o.err = ReadBytes(err_file);
    return o;
  }
  std::string Db() const { return " --db " + db_; }
  size_t RunCount() {
    Result<store::TraceStore> s = store::TraceStore::Open(db_, {.create_if_missing = false, .read_only = true});
    if (!s.ok()) return 0;
    const Result<std::vector<store::RunRecord>> runs = s->ListRuns();  // fails while a writer creates it
    return runs.ok() ? runs->size() : 0;
  }

  TempDir dir_;
  std::string db_ = dir_.File("paci.db");
};

#define EXPECT_REFUSED(o, what)                                                   \
  do {                                                                            \
    EXPECT_EQ((o).code, 2) << (o).err;                                            \
    EXPECT_NE((o).err.find(what), std::string::npos) << "stderr: " << (o).err;    \
  } while (0)

}  // namespace paci
