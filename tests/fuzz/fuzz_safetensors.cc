// libFuzzer target: a safetensors file's length prefix and JSON header (exec/safetensors.h), then
// reading every tensor it declares as F32 with its declared shape, as a checkpoint load would.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "exec/model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  paci::Result<paci::exec::SafeTensorsFile> file = paci::exec::safetensors_parse(bytes, "fuzz.safetensors");
  if (!file.ok()) return 0;
  for (const auto& [name, entry] : file->tensors) {
    if (entry.end - entry.begin > (1u << 20)) continue;
    std::vector<float> dst((entry.end - entry.begin) / sizeof(float) + 1);
    (void)paci::exec::safetensors_get_f32(*file, name, entry.shape, dst.data());
  }
  return 0;
}
