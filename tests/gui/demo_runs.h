// Demo and fixture runs for the viewer: simulated predictions of several schedules and, because
// the executor does not write measured runs yet, "synthetic measurements" (the same spec simulated
// with jitter and a straggler, marked kind=measured and named so) with made-up loss curves.
// Used by the viewer tests and by scripts/screenshots.sh (through paci-gui-demo-store).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proto/status.h"

namespace paci::guitest {

struct DemoOptions {
  uint64_t large_ops = 0;  // > 0: also write a PACI P=8 K=8 run with at least this many ops
};

struct DemoIds {
  int64_t predicted = 0;   // paci P=4 K=4
  int64_t measured = 0;    // its synthetic measurement (linked)
  int64_t flush = 0;       // 1f1b-flush P=4 M=8
  int64_t large = 0;       // 0 unless large_ops > 0
  std::vector<int64_t> all;
};

// Writes the demo runs into a new or existing store at path.
Result<DemoIds> WriteDemoStore(const std::string& path, const DemoOptions& options = {});

}  // namespace paci::guitest
