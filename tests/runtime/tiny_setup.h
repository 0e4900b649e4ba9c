// A tiny GPT and a generated corpus shared by the runtime tests: small enough that a 4-stage
// pipeline trains 10 updates in well under a second on one core.
#pragma once

#include <string>

#include "exec/model/data.h"
#include "exec/model/threads.h"
#include "exec/model/train.h"

namespace paci::exec::testing {

inline DataSplit TinyCorpus() {
  std::string text;
  const char* lines[] = {"the pipeline keeps every stage busy. ", "each stage steps its own optimizer. ",
                         "weights drift by at most one update. ", "no flush, no bubble, no stash. "};
  for (int i = 0; i < 200; ++i) text += lines[(i * 7 + i / 3) % 4];
  std::vector<uint16_t> tokens(text.begin(), text.end());
  return split_tokens(tokens, 0.1);
}

// 4 blocks so that up to 6 pipeline slices (embedding, 4 blocks, head) exist.
inline TrainConfig TinyTrainConfig() {
  TrainConfig c;
  c.model.vocab_size = 256;
  c.model.block_size = 16;
  c.model.n_layer = 4;
  c.model.n_head = 2;
  c.model.n_embd = 32;
  c.B = 2;
  c.lr = 3e-3f;
  c.warmup = 2;
  c.grad_clip = 0.0f;  // pipelines have no global clipping
  c.seed = 7;
  c.eval_batches = 4;
  exec_set_threads(1);  // bit-for-bit comparisons need the same thread count everywhere
  return c;
}

}  // namespace paci::exec::testing
