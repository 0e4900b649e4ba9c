// Training data: token streams from text files (bytes, vocabulary 256) or pre-tokenized .bin files
// of uint16 ids (nanoGPT raw, or llm.c with its 256 x int32 header, magic 20240520), the
// deterministic train/validation split, and the window samplers that cut (B,T) micro-batches.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "exec/model/rng.h"
#include "proto/status.h"

namespace paci::exec {

inline constexpr int32_t kLlmcTokensMagic = 20240520;
// The largest token file (--data) read: 4 GiB, 2^31 uint16 tokens. Files beyond it, and whatever
// is not a regular file (/dev/zero), are refused before reading (sched/bounded_file.h).
inline constexpr uint64_t kMaxDataFileBytes = uint64_t{1} << 32;

// Concatenates the files in the given order. A path ending in ".bin" is read as uint16 token ids
// (every id must be < vocab); any other file as bytes (needs vocab >= 256). Errors name the file.
Result<std::vector<uint16_t>> load_tokens(const std::vector<std::string>& paths, int vocab);

// A 64-bit FNV-1a hash of the token ids: tells two corpora apart by content (an edited file is
// another corpus, a copy under another name the same one). Not cryptographic.
uint64_t tokens_fingerprint(const std::vector<uint16_t>& tokens);

// The default corpus: the plain-text files of a fortunes directory (not *.dat, *.u8), sorted by name.
Result<std::vector<std::string>> default_corpus_files(const std::string& dir = "/usr/share/games/fortunes");

// The last val_frac of the stream is validation, the rest training. Always the same cut.
struct DataSplit {
  std::vector<uint16_t> train, val;
};
DataSplit split_tokens(const std::vector<uint16_t>& tokens, double val_frac = 0.1);

enum class SamplerKind { kRandom, kSequential };

// Cuts micro-batches of B windows of T+1 tokens. kRandom: window starts drawn from rng;
// kSequential: consecutive windows in file order, wrapping to the start (a new epoch) at the end.
// The whole state is {rng, pos}, saved in checkpoints.
struct Sampler {
  SamplerKind kind = SamplerKind::kRandom;
  Rng rng;
  uint64_t pos = 0;
};

// InvalidArgument naming `what` (e.g. "training split") when data is shorter than T+1 tokens.
Status sampler_check(const std::vector<uint16_t>& data, int T, const char* what);
// inputs[b*T+t] = data[s_b+t], targets[b*T+t] = data[s_b+t+1].
void sampler_next(Sampler* s, const std::vector<uint16_t>& data, int B, int T, int* inputs, int* targets);

}  // namespace paci::exec
