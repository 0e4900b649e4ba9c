// Data loading as a user meets it: text and .bin token files (nanoGPT raw and llm.c headered),
// errors that name the file, the fixed train/validation split, reproducible samplers, and the
// fingerprint that identifies a corpus by content.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "exec/model/data.h"

namespace paci::exec {
namespace {

std::string tmp_path(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("paci_exec_data_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

void write_bytes(const std::string& path, const void* data, size_t n) {
  std::ofstream f(path, std::ios::binary);
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
}

TEST(Data, TextFilesAreBytesConcatenatedInOrder) {
  const std::string a = tmp_path("a.txt"), b = tmp_path("b.txt");
  write_bytes(a, "hi", 2);
  write_bytes(b, "\xff!", 2);
  Result<std::vector<uint16_t>> t = load_tokens({a, b}, 256);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(*t, (std::vector<uint16_t>{'h', 'i', 255, '!'}));
  Result<std::vector<uint16_t>> small = load_tokens({a}, 100);
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.status().message().find(a), std::string::npos);
}

TEST(Data, NanoGptRawBin) {
  const std::vector<uint16_t> ids = {1, 50256, 7, 300};
  const std::string p = tmp_path("raw.bin");
  write_bytes(p, ids.data(), ids.size() * 2);
  Result<std::vector<uint16_t>> t = load_tokens({p}, 50257);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(*t, ids);
  Result<std::vector<uint16_t>> bad = load_tokens({p}, 1000);  // 50256 >= vocab
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("raw.bin"), std::string::npos);
  EXPECT_NE(bad.status().message().find("--vocab"), std::string::npos);
}

TEST(Data, LlmcHeaderedBin) {
  std::vector<int32_t> header(256, 0);
  header[0] = kLlmcTokensMagic;
  header[1] = 1;
  header[2] = 3;
  const std::vector<uint16_t> ids = {10, 20, 30};
  std::vector<uint8_t> bytes(1024 + 6);
  std::memcpy(bytes.data(), header.data(), 1024);
  std::memcpy(bytes.data() + 1024, ids.data(), 6);
  const std::string p = tmp_path("llmc.bin");
  write_bytes(p, bytes.data(), bytes.size());
  Result<std::vector<uint16_t>> t = load_tokens({p}, 50257);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(*t, ids);
  header[2] = 4;  // header disagrees with the size
  std::memcpy(bytes.data(), header.data(), 1024);
  write_bytes(p, bytes.data(), bytes.size());
  EXPECT_EQ(load_tokens({p}, 50257).status().code(), Status::Code::kCorruption);
  write_bytes(p, bytes.data(), 3);
  EXPECT_EQ(load_tokens({p}, 50257).status().code(), Status::Code::kCorruption);  // odd size
  EXPECT_EQ(load_tokens({tmp_path("missing.bin")}, 256).status().code(), Status::Code::kNotFound);
}

TEST(Data, DefaultCorpusSkipsIndexFilesAndSorts) {
  const std::string dir = tmp_path("fortunes");
  std::filesystem::create_directories(dir);
  write_bytes(dir + "/zeta", "z", 1);
  write_bytes(dir + "/alpha", "a", 1);
  write_bytes(dir + "/alpha.dat", "x", 1);
  std::filesystem::remove(dir + "/alpha.u8");
  std::filesystem::create_symlink("alpha", dir + "/alpha.u8");
  Result<std::vector<std::string>> files = default_corpus_files(dir);
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(*files, (std::vector<std::string>{dir + "/alpha", dir + "/zeta"}));
  EXPECT_FALSE(default_corpus_files(dir + "/nope").ok());
}

TEST(Data, SplitIsTheLastTenPercent) {
  std::vector<uint16_t> t(1000);
  for (size_t i = 0; i < t.size(); i++) t[i] = static_cast<uint16_t>(i);
  const DataSplit s = split_tokens(t);
  ASSERT_EQ(s.train.size(), 900u);
  ASSERT_EQ(s.val.size(), 100u);
  EXPECT_EQ(s.val.front(), 900);
  EXPECT_EQ(s.train.back(), 899);
}

// The fingerprint a study tells corpora apart by: equal streams agree; one changed token, a swap
// of two tokens or a high byte (ids above 255 from .bin files) each change it.
TEST(Data, FingerprintTellsStreamsApartByContent) {
  const std::vector<uint16_t> a = {104, 105, 33, 10}, same = a;
  EXPECT_EQ(tokens_fingerprint(a), tokens_fingerprint(same));
  EXPECT_NE(tokens_fingerprint(a), tokens_fingerprint({104, 105, 34, 10}));
  EXPECT_NE(tokens_fingerprint(a), tokens_fingerprint({105, 104, 33, 10}));
  EXPECT_NE(tokens_fingerprint({1}), tokens_fingerprint({257}));
  EXPECT_NE(tokens_fingerprint(a), tokens_fingerprint({104, 105, 33}));
}

TEST(Data, RandomSamplerIsReproducibleAndSeeded) {
  std::vector<uint16_t> t(5000);
  for (size_t i = 0; i < t.size(); i++) t[i] = static_cast<uint16_t>(i % 251);
  const int B = 3, T = 7;
  auto draw = [&](uint64_t seed) {
    Sampler s;
    s.rng.state = seed;
    std::vector<int> in(B * T), tg(B * T), all;
    for (int k = 0; k < 4; k++) {
      sampler_next(&s, t, B, T, in.data(), tg.data());
      for (int i = 0; i < B * T; i++) EXPECT_EQ(tg[i], (in[i] + 1) % 251);
      all.insert(all.end(), in.begin(), in.end());
    }
    return all;
  };
  EXPECT_EQ(draw(1), draw(1));
  EXPECT_NE(draw(1), draw(2));
}

TEST(Data, SequentialSamplerWalksInOrderAndWraps) {
  std::vector<uint16_t> t(20);
  for (size_t i = 0; i < t.size(); i++) t[i] = static_cast<uint16_t>(i);
  Sampler s;
  s.kind = SamplerKind::kSequential;
  const int B = 2, T = 4;
  std::vector<int> in(B * T), tg(B * T);
  sampler_next(&s, t, B, T, in.data(), tg.data());
  EXPECT_EQ(in, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(tg, (std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8}));
  sampler_next(&s, t, B, T, in.data(), tg.data());  // windows at 8 and 12 (12+4 < 20)
  EXPECT_EQ(in[0], 8);
  EXPECT_EQ(in[4], 12);
  sampler_next(&s, t, B, T, in.data(), tg.data());  // 16 + 4 = 20 leaves no target: wrap to 0
  EXPECT_EQ(in[0], 0);
  EXPECT_FALSE(sampler_check(t, 20, "training split").ok());
  EXPECT_TRUE(sampler_check(t, 19, "training split").ok());
}

}  // namespace
}  // namespace paci::exec
