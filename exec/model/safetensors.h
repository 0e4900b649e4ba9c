// The safetensors file format, written and read by hand: an 8-byte little-endian header length,
// a JSON header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}},
// then the raw little-endian tensor bytes. Only F32 tensors are read back as floats.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "proto/status.h"

namespace paci::exec {

// A tensor to write; data is not owned and must stay valid during safetensors_write.
struct SafeTensorRef {
  std::string name;
  std::vector<int64_t> shape;
  const float* data = nullptr;  // F32, numel = product of shape
};

Status safetensors_write(const std::string& path, const std::vector<SafeTensorRef>& tensors,
                         const std::map<std::string, std::string>& metadata);

struct SafeTensorsEntry {
  std::string dtype;
  std::vector<int64_t> shape;
  size_t begin = 0, end = 0;  // byte range inside SafeTensorsFile::data
};

struct SafeTensorsFile {
  std::string path;
  std::map<std::string, std::string> metadata;
  std::map<std::string, SafeTensorsEntry> tensors;
  std::vector<uint8_t> data;  // the byte buffer after the header
};

// The largest checkpoint file read: the weights and AdamW state kMaxTrainFloats (train.h) allows,
// plus headers. Files beyond it, and whatever is not a regular file (/dev/zero), are refused.
inline constexpr uint64_t kMaxCheckpointBytes = uint64_t{17} << 30;
Result<SafeTensorsFile> safetensors_read(const std::string& path);
// The same from the file's bytes; `path` only names the source in errors.
Result<SafeTensorsFile> safetensors_parse(std::string_view bytes, const std::string& path);

// Copies F32 tensor `name` into dst after checking that it exists with exactly `shape`.
Status safetensors_get_f32(const SafeTensorsFile& f, const std::string& name, const std::vector<int64_t>& shape,
                           float* dst);

}  // namespace paci::exec
