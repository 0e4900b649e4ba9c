// libFuzzer target: Chrome-trace import (store/chrome_trace.h), then what `paci runs show` and
// `paci compare` compute from an imported run.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "store/chrome_trace.h"
#include "store/run_metrics.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  paci::Result<paci::store::RunData> run = paci::store::ImportChromeTrace(json, "fuzz.json");
  if (!run.ok()) return 0;
  (void)paci::store::ComputeRunMetrics(*run);
  (void)paci::store::CompareRuns(*run, *run);
  return 0;
}
