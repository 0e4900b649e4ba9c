// See safetensors.h. nlohmann::json builds and parses the header.
#include "exec/model/safetensors.h"

#include <cstdio>
#include <cstring>
#include <string_view>

#include <nlohmann/json.hpp>

#include "sched/bounded_file.h"

namespace paci::exec {

namespace {

constexpr uint64_t kMaxHeaderBytes = 100u << 20;  // the safetensors spec's limit

std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); i++) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

size_t numel(const std::vector<int64_t>& shape) {
  size_t n = 1;
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  return n;
}

}  // namespace

Status safetensors_write(const std::string& path, const std::vector<SafeTensorRef>& tensors,
                         const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  size_t off = 0;
  for (const SafeTensorRef& t : tensors) {
    const size_t nb = numel(t.shape) * sizeof(float);
    header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {off, off + nb}}};
    off += nb;
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string h = header.dump();
  while (h.size() % 8 != 0) h.push_back(' ');  // keeps the data 8-byte aligned, as the spec allows
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return Status::IoError(path + ": cannot open for writing");
  uint8_t len[8];
  for (int i = 0; i < 8; i++) len[i] = static_cast<uint8_t>(static_cast<uint64_t>(h.size()) >> (8 * i));
  bool ok = std::fwrite(len, 1, 8, f) == 8 && std::fwrite(h.data(), 1, h.size(), f) == h.size();
  for (const SafeTensorRef& t : tensors) {
    const size_t n = numel(t.shape);
    ok = ok && std::fwrite(t.data, sizeof(float), n, f) == n;  // little-endian host
  }
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Status::IoError(path + ": write failed");
  }
  return Status::Ok();
}

Result<SafeTensorsFile> safetensors_read(const std::string& path) {
  Result<std::string> bytes = ReadBoundedFile(path, kMaxCheckpointBytes, "kMaxCheckpointBytes (exec/model/safetensors.h)");
  if (!bytes.ok() && bytes.status().code() == Status::Code::kNotFound)
    return Status::NotFound(path + ": cannot open checkpoint");
  if (!bytes.ok()) return bytes.status();
  return safetensors_parse(*bytes, path);
}

Result<SafeTensorsFile> safetensors_parse(std::string_view bytes, const std::string& path) {
  SafeTensorsFile out;
  out.path = path;
  uint64_t hlen = 0;
  for (size_t i = 0; i < 8 && i < bytes.size(); i++) hlen |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
  if (bytes.size() < 8 || hlen > bytes.size() - 8 || hlen > kMaxHeaderBytes)
    return Status::Corruption(path + ": not a safetensors file (bad header length)");
  const std::string_view h = bytes.substr(8, hlen);
  const std::string_view payload = bytes.substr(8 + hlen);
  out.data.assign(payload.begin(), payload.end());
  nlohmann::json header = nlohmann::json::parse(h, nullptr, /*allow_exceptions=*/false);
  if (!header.is_object()) return Status::Corruption(path + ": safetensors header is not a JSON object");
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object()) return Status::Corruption(path + ": __metadata__ is not a JSON object");
      for (auto m = it->begin(); m != it->end(); ++m)
        if (m->is_string()) out.metadata[m.key()] = m->get<std::string>();
      continue;
    }
    const nlohmann::json& e = *it;
    if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets") ||
        !e["dtype"].is_string() || !e["shape"].is_array() || !e["data_offsets"].is_array() ||
        e["data_offsets"].size() != 2 || !e["data_offsets"][0].is_number_unsigned() ||
        !e["data_offsets"][1].is_number_unsigned())
      return Status::Corruption(path + ": tensor " + it.key() + " has a malformed header entry");
    SafeTensorsEntry t;
    t.dtype = e["dtype"].get<std::string>();
    for (const auto& d : e["shape"]) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0) return Status::Corruption(path + ": tensor " + it.key() + " has a bad shape");
      t.shape.push_back(d.get<int64_t>());
    }
    t.begin = e["data_offsets"][0].get<size_t>();
    t.end = e["data_offsets"][1].get<size_t>();
    if (t.begin > t.end || t.end > out.data.size())
      return Status::Corruption(path + ": tensor " + it.key() + " lies outside the file");
    out.tensors[it.key()] = std::move(t);
  }
  return out;
}

Status safetensors_get_f32(const SafeTensorsFile& f, const std::string& name, const std::vector<int64_t>& shape,
                           float* dst) {
  auto it = f.tensors.find(name);
  if (it == f.tensors.end()) return Status::NotFound(f.path + ": tensor " + name + " missing");
  const SafeTensorsEntry& e = it->second;
  if (e.dtype != "F32") return Status::InvalidArgument(f.path + ": tensor " + name + " is " + e.dtype + ", expected F32");
  if (e.shape != shape)
    return Status::InvalidArgument(f.path + ": tensor " + name + " has shape " + shape_str(e.shape) + ", expected " +
                                   shape_str(shape));
  if (e.end - e.begin != numel(shape) * sizeof(float))
    return Status::Corruption(f.path + ": tensor " + name + " byte size does not match its shape");
  std::memcpy(dst, f.data.data() + e.begin, e.end - e.begin);
  return Status::Ok();
}

}  // namespace paci::exec
