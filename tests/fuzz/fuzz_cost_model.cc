// libFuzzer target: cost model files, JSON or protobuf text (sim/cost_model_file.h).
#include <cstddef>
#include <cstdint>
#include <string>

#include "sim/cost_model_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)paci::sim::ParseCostModel(text);
  return 0;
}
