// Times `paci train`'s update (forward, backward, clip, AdamW) on random tokens and prints one
// line "paci_train_step tokens_per_s=... ms_per_step=...". bench/train_step_vs_torch.py runs it
// beside the same step in PyTorch. Usage: train_step_bench L C NH T B V STEPS THREADS
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "exec/model/rng.h"
#include "exec/model/threads.h"
#include "exec/model/train.h"
#include "exec/model/rng.h"
#include "exec/model/threads.h"
#include "exec/model/train.h"
#include "tools/exit_codes.h"

int RunBench(int argc, char** argv) {
  if (argc != 9) {
    std::fprintf(stderr, "usage: train_step_bench LAYERS DIM HEADS SEQ BATCH VOCAB STEPS THREADS\n");
    return 2;
  }
  using namespace paci::exec;
  TrainConfig c;
  c.model.n_layer = std::atoi(argv[1]);
  c.model.n_embd = std::atoi(argv[2]);
  c.model.n_head = std::atoi(argv[3]);
  c.model.block_size = std::atoi(argv[4]);
  c.B = std::atoi(argv[5]);
  c.model.vocab_size = std::atoi(argv[6]);
  const int steps = std::atoi(argv[7]);
  exec_set_threads(std::atoi(argv[8]));
  c.updates = steps + 3;
  Rng r{1};
  std::vector<uint16_t> tokens(1 << 20);
  for (uint16_t& t : tokens) t = static_cast<uint16_t>(rng_below(&r, c.model.vocab_size));
  paci::Result<Trainer> tr = trainer_create(c, split_tokens(tokens));
  if (!tr.ok()) {
    std::fprintf(stderr, "train_step_bench: %s\n", tr.status().message().c_str());
    return 2;
  }
  for (int i = 0; i < 3; i++) trainer_step(&*tr);  // warm-up: allocations, page faults
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; i++) trainer_step(&*tr);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("paci_train_step tokens_per_s=%.1f ms_per_step=%.3f threads=%d gemm=%s\n",
              static_cast<double>(c.B) * c.model.block_size * steps / s, 1000.0 * s / steps, exec_threads(),
              exec_gemm_backend());
  return 0;
}

// The program's one exception boundary (tools/exit_codes.h): bad flags exit 2, failures 1.
int main(int argc, char** argv) {
  return paci::ExitBoundary([] { return "train_step_bench"; }, [&] { return RunBench(argc, argv); });
}
