// Token files, split and samplers. See data.h.
#include "exec/model/data.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "proto/fnv1a.h"
#include "sched/bounded_file.h"

namespace paci::exec {

namespace {

Result<std::vector<uint8_t>> read_file(const std::string& path) {
  Result<std::string> text =
      ReadBoundedFile(path, kMaxDataFileBytes, "kMaxDataFileBytes (exec/model/data.h)");
  if (!text.ok() && text.status().code() == Status::Code::kNotFound)
    return Status::NotFound(path + ": cannot open data file");
  if (!text.ok()) return text.status();
  return std::vector<uint8_t>(text->begin(), text->end());
}

Status append_bin(const std::string& path, const std::vector<uint8_t>& bytes, int vocab,
                  std::vector<uint16_t>* out) {
  size_t begin = 0, count = 0;
  int32_t header[3] = {0, 0, 0};
  if (bytes.size() >= 1024) std::memcpy(header, bytes.data(), sizeof(header));
  if (header[0] == kLlmcTokensMagic) {
    if (header[1] != 1)
      return Status::Corruption(path + ": llm.c token file version " + std::to_string(header[1]) +
                                ", expected 1");
    begin = 1024;
    count = static_cast<size_t>(header[2]);
    if (bytes.size() != begin + 2 * count)
      return Status::Corruption(path + ": llm.c header says " + std::to_string(count) +
                                " tokens but the file holds " + std::to_string((bytes.size() - begin) / 2));
  } else {
    if (bytes.size() % 2 != 0) return Status::Corruption(path + ": odd size for a uint16 token file");
    count = bytes.size() / 2;
  }
  const size_t at = out->size();
  out->resize(at + count);
  std::memcpy(out->data() + at, bytes.data() + begin, 2 * count);  // little-endian host
  for (size_t i = at; i < out->size(); i++)
    if ((*out)[i] >= vocab)
      return Status::InvalidArgument(path + ": token id " + std::to_string((*out)[i]) + " at " +
                                     std::to_string(i - at) + " is not below --vocab " +
                                     std::to_string(vocab));
  return Status::Ok();
}

}  // namespace

Result<std::vector<uint16_t>> load_tokens(const std::vector<std::string>& paths, int vocab) {
  std::vector<uint16_t> tokens;
  for (const std::string& path : paths) {
    Result<std::vector<uint8_t>> bytes = read_file(path);
    if (!bytes.ok()) return bytes.status();
    if (path.ends_with(".bin")) {
      PACI_RETURN_IF_ERROR(append_bin(path, *bytes, vocab, &tokens));
    } else {
      if (vocab < 256)
        return Status::InvalidArgument(path + ": a text file needs --vocab >= 256 (byte tokens)");
      tokens.insert(tokens.end(), bytes->begin(), bytes->end());
    }
  }
  return tokens;
}

Result<std::vector<std::string>> default_corpus_files(const std::string& dir) {
  std::error_code ec;
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (!e.is_regular_file() || e.is_symlink() || name.ends_with(".dat") || name.ends_with(".u8")) continue;
    files.push_back(e.path().string());
  }
  if (ec || files.empty())
    return Status::NotFound(
        dir + ": default corpus missing (run scripts/install-deps.sh for fortunes, or pass --data)");
  std::sort(files.begin(), files.end());
  return files;
}

uint64_t tokens_fingerprint(const std::vector<uint16_t>& tokens) {
  uint64_t h = kFnv1a64Basis;
  for (uint16_t t : tokens) {  // little-endian bytes whatever the machine, so stored fingerprints compare
    const unsigned char bytes[2] = {static_cast<unsigned char>(t & 0xff), static_cast<unsigned char>(t >> 8)};
    h = Fnv1a64(bytes, 2, h);
  }
  return h;
}

DataSplit split_tokens(const std::vector<uint16_t>& tokens, double val_frac) {
  const size_t n_val = static_cast<size_t>(static_cast<double>(tokens.size()) * val_frac);
  const size_t cut = tokens.size() - n_val;
  return DataSplit{std::vector<uint16_t>(tokens.begin(), tokens.begin() + cut),
                   std::vector<uint16_t>(tokens.begin() + cut, tokens.end())};
}

Status sampler_check(const std::vector<uint16_t>& data, int T, const char* what) {
  if (data.size() < static_cast<size_t>(T) + 1)
    return Status::InvalidArgument(std::string(what) + " has " + std::to_string(data.size()) +
                                   " tokens, fewer than --seq + 1 = " + std::to_string(T + 1));
  return Status::Ok();
}

void sampler_next(Sampler* s, const std::vector<uint16_t>& data, int B, int T, int* inputs, int* targets) {
  const uint64_t n_starts = data.size() - static_cast<uint64_t>(T);  // valid starts: [0, size-T-1]
  for (int b = 0; b < B; b++) {
    uint64_t start;
    if (s->kind == SamplerKind::kRandom) {
      start = rng_below(&s->rng, n_starts);
    } else {
      if (s->pos >= n_starts) s->pos = 0;
      start = s->pos;
      s->pos += T;
    }
    for (int t = 0; t < T; t++) {
      inputs[b * T + t] = data[start + t];
      targets[b * T + t] = data[start + t + 1];
    }
  }
}

}  // namespace paci::exec
