// `paci train`: trains the GPT model on one process, unpipelined (exec/train.h), with a progress
// line on stderr, validation every --eval-every updates, --save/--resume safetensors checkpoints
// and a final summary on stdout.
// Exit codes: 0 ok, 2 bad flags or unreadable/mismatched input files, 1 a failure while writing.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "exec/model/affinity.h"
#include "exec/model/checkpoint.h"
#include "exec/model/data.h"
#include "exec/model/threads.h"
#include "exec/model/train.h"
#include "proto/exit_codes.h"
#include "proto/run_setup.h"
#include "tools/commands.h"
#include "tools/gpt_flags.h"
#include "tools/pipeline_train.h"
#include "tools/spec_flags.h"

namespace paci::cli {
namespace {

struct TrainFlags {
  exec::TrainConfig cfg;
  int seq = 32;
  std::vector<std::string> data;
  std::string sampler = "random";
  std::string save, resume;
  int eval_every = 50;
  int threads = 0;
  PipelineTrainFlags pipe;  // --schedule and friends: pipelined training (tools/pipeline_train.h)
  CLI::Option* grad_clip = nullptr;
  CLI::Option* eval_every_opt = nullptr;
  CLI::Option* updates = nullptr;
};

std::string FormatSeconds(double s) {
  const long t = std::lround(s);
  return t >= 3600 ? fmt::format("{}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60)
                   : fmt::format("{}:{:02}", t / 60, t % 60);
}

// The token stream of --data (or the default corpus), recording the corpus's identity in `pipe`.
Result<std::vector<uint16_t>> LoadCorpus(const std::vector<std::string>& data, int vocab,
                                         PipelineTrainFlags* pipe) {
  std::vector<std::string> files = data;
  if (files.empty()) {
    Result<std::vector<std::string>> def = exec::default_corpus_files();
    if (!def.ok()) return def.status();
    files = *def;
  }
  Result<std::vector<uint16_t>> tokens = exec::load_tokens(files, vocab);
  if (!tokens.ok()) return Status::InvalidArgument("--data: " + tokens.status().message());
  pipe->data_files = data;
  pipe->data_tokens = tokens->size();
  pipe->data_fingerprint = exec::tokens_fingerprint(*tokens);
  return tokens;
}

exec::DataSplit LoadData(TrainFlags& f) {
  Result<std::vector<uint16_t>> tokens = LoadCorpus(f.data, f.cfg.model.vocab_size, &f.pipe);
  if (!tokens.ok()) Fail(kExitBadInput, tokens.status().message());
  return exec::split_tokens(*tokens);
}

// --sampler's value; the trainer and a study's reading of a point both go through here.
Result<exec::SamplerKind> ParseSampler(const std::string& name) {
  if (name == "random") return exec::SamplerKind::kRandom;
  if (name == "sequential") return exec::SamplerKind::kSequential;
  return Status::InvalidArgument("--sampler must be random or sequential, not '" + name + "'");
}

void RunTrain(TrainFlags& f) {
  exec::TrainConfig& c = f.cfg;
  c.model.block_size = f.seq;
  const Result<exec::SamplerKind> sampler = ParseSampler(f.sampler);
  if (!sampler.ok()) Fail(kExitBadInput, sampler.status().message());
  c.sampler = *sampler;
  if (f.threads < 0) Fail(kExitBadInput, "--threads must not be negative");
  if (f.threads > 1 && !exec::exec_openmp())
    Fail(kExitBadInput,
         "--threads: this paci was built without OpenMP (-DPACI_OPENMP=OFF), so each stage has one kernel "
         "thread; drop --threads or rebuild with -DPACI_OPENMP=ON");
  if (f.eval_every < 0) Fail(kExitBadInput, "--eval-every must not be negative");
  if (c.accum < 1) Fail(kExitBadInput, "--accum must be at least 1");
  // A typed 0 (or less) would train nothing and store it as complete (issue 25).
  if (f.updates->count() > 0 && c.updates < 1) Fail(kExitBadInput, "--updates must be at least 1");
  // One reading of the run length for every command (tools/spec_flags.h).
  const Result<uint64_t> updates =
      UpdatesFromFlags(static_cast<uint32_t>(c.accum), f.pipe.microbatches,
                       f.updates->count() > 0 ? static_cast<uint64_t>(c.updates) : 0);
  if (!updates.ok()) Fail(kExitBadInput, updates.status().message());
  if (*updates > 0) c.updates = static_cast<int64_t>(*updates);
  if (f.pipe.schedule.empty() && (f.pipe.stages != 1 || f.pipe.chunks != 0))
    Fail(kExitBadInput, std::string(f.pipe.stages != 1 ? "--stages" : "--chunks") +
                            ": applies only to pipelined training (--schedule)");
  if (!f.pipe.schedule.empty()) {
    // Each stage gets its share of the cores unless --threads says otherwise; threads and MPI
    // runs then use the same count, which keeps their results identical.
    const int hw = static_cast<int>(exec::allowed_cpus().size());  // taskset and cpusets included
    // Pipelines have no global gradient norm (no all-reduce across stages): clipping is off
    // unless asked for, and then PlanPipeline refuses it with a message.
    if (f.grad_clip->count() == 0) c.grad_clip = 0.0f;
    f.pipe.save = f.save;
    f.pipe.resume = f.resume;
    // Validation during a pipelined run copies every stage's weights: only when asked for.
    f.pipe.eval_every = f.eval_every_opt->count() > 0 ? f.eval_every : 0;
    const exec::ThreadBudget budget =
        exec::plan_thread_budget(hw, static_cast<int>(f.pipe.stages), f.threads);
    std::fprintf(stderr, "paci train: %s, gemm %s\n", budget.describe().c_str(), exec::exec_gemm_backend());
    exec::exec_set_threads(budget.threads_per_stage);
    const exec::DataSplit data = LoadData(f);  // first: it fills f.pipe's corpus identity
    RunPipelineTrain(c, f.pipe, data);
    return;
  }
  const std::string pipeline_only = GivenPipelineOnlyFlag(f.pipe);
  if (!pipeline_only.empty())
    Fail(kExitBadInput, pipeline_only +
                            " applies to pipelined training only; add --schedule NAME (e.g. --schedule "
                            "1f1b-flush --stages 1)");
  const exec::ThreadBudget budget =
      exec::plan_thread_budget(static_cast<int>(exec::allowed_cpus().size()), 1, f.threads);
  std::fprintf(stderr, "paci train: %s\n", budget.describe().c_str());
  exec::exec_set_threads(budget.threads_per_stage);
  Result<exec::Trainer> created = exec::trainer_create(c, LoadData(f));
  if (!created.ok()) Fail(kExitBadInput, created.status().message());
  exec::Trainer& tr = *created;
  if (!f.resume.empty()) {
    const Status st = exec::checkpoint_load(f.resume, &tr);
    if (!st.ok()) Fail(kExitBadInput, "--resume: " + st.message());
  }
  const int64_t start = tr.opt.step;
  // train_config_check bounded B, T and K, so the product fits.
  const double tokens_per_update =
      static_cast<double>(TokensPerUpdate(c.B, c.model.block_size, c.accum).value_or(0));
  std::fprintf(stderr,
               "paci train: %zu parameters, %d layers, dim %d, %d heads, seq %d, batch %d x %d accum, "
               "%zu train / %zu val tokens, %d threads (%s), updates %lld..%lld\n",
               tr.params.size(), c.model.n_layer, c.model.n_embd, c.model.n_head, c.model.block_size, c.B,
               c.accum, tr.data.train.size(), tr.data.val.size(), exec::exec_threads(),
               exec::exec_gemm_backend(), static_cast<long long>(start), static_cast<long long>(c.updates));
  const bool tty = isatty(fileno(stderr)) != 0;
  const auto t0 = std::chrono::steady_clock::now();
  exec::StepStats st;
  float val = NAN;
  for (int64_t u = start; u < c.updates; u++) {
    st = exec::trainer_step(&tr);
    if (!std::isfinite(st.loss))
      Fail(kExitRuntimeError,
           fmt::format("update {}: the loss is {}; training diverged (try a lower --lr)", u + 1, st.loss));
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double done = static_cast<double>(u + 1 - start);
    const double tps = tokens_per_update * done / el;
    const bool eval = f.eval_every > 0 && ((u + 1) % f.eval_every == 0 || u + 1 == c.updates);
    if (eval) val = exec::trainer_eval(&tr);
    if (tty || eval || (u + 1) % 10 == 0 || u + 1 == c.updates) {
      std::string line =
          fmt::format("update {:>5}/{} | loss {:.4f} | lr {:.2e} | norm {:.3f} | {:.0f} tok/s | ETA {}",
                      u + 1, c.updates, st.loss, st.lr, st.grad_norm, tps,
                      FormatSeconds(el / done * static_cast<double>(c.updates - u - 1)));
      if (eval) line += fmt::format(" | val {:.4f}", val);
      if (tty) {
        std::fprintf(stderr, eval ? "\r%s\033[K\n" : "\r%s\033[K", line.c_str());  // redraw in place
      } else {
        std::fprintf(stderr, "%s\n", line.c_str());
      }
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (std::isnan(val)) val = exec::trainer_eval(&tr);
  if (!std::isfinite(val))
    Fail(kExitRuntimeError, fmt::format("validation loss is {}; training diverged (try a lower --lr)", val));
  if (!f.save.empty()) {
    const Status s = exec::checkpoint_save(f.save, tr);
    if (!s.ok()) Fail(kExitRuntimeError, "--save: " + s.message());
  }
  const int64_t n = c.updates - start;
  std::printf("trained %lld updates (%lld..%lld) in %.1f s, %.0f tokens/s\n", static_cast<long long>(n),
              static_cast<long long>(start), static_cast<long long>(c.updates), secs,
              n > 0 ? tokens_per_update * static_cast<double>(n) / secs : 0.0);
  std::printf("final train loss %.4f, val loss %.4f (uniform over the vocabulary: %.4f)\n", st.loss, val,
              std::log(static_cast<double>(c.model.vocab_size)));
  if (!f.save.empty()) std::printf("saved %s and %s\n", f.save.c_str(), exec::optim_path(f.save).c_str());
}

// Every flag of `paci train`, on `cmd`, into *f. AddTrainCommand and ReadTrainArgs share it, so a
// study reads a point's command line exactly as the trainer will.
void AddTrainFlags(CLI::App* cmd, TrainFlags* f) {
  exec::TrainConfig& c = f->cfg;
  AddGptShapeFlags(cmd, &c.model, &f->seq);
  cmd->add_option("--microbatch-size", c.B, "micro-batch size b")->capture_default_str();
  f->updates = cmd->add_option("--updates", c.updates, "train until this many optimizer updates")
                   ->capture_default_str();
  cmd->add_option("--decay-updates", c.decay_updates, "cosine schedule length (0: --updates)")
      ->capture_default_str();
  cmd->add_option("--accum", c.accum, "micro-batches per update")->capture_default_str();
  cmd->add_option("--lr", c.lr, "peak learning rate")->capture_default_str();
  cmd->add_option("--warmup", c.warmup, "linear warm-up updates")->capture_default_str();
  cmd->add_option("--min-lr-frac", c.min_lr_frac, "final learning rate as a fraction of --lr")
      ->capture_default_str();
  cmd->add_option("--weight-decay", c.adamw.weight_decay, "AdamW decoupled weight decay")
      ->capture_default_str();
  f->grad_clip = cmd->add_option("--grad-clip", c.grad_clip, "global gradient-norm clip (0: off)")
                     ->capture_default_str();
  cmd->add_option("--seed", c.seed, "seed for weights and the sampler")->capture_default_str();
  cmd->add_option("--data", f->data, "text files or .bin token files (default: the fortunes corpus)");
  cmd->add_option("--sampler", f->sampler, "random | sequential")->capture_default_str();
  cmd->add_option("--save", f->save, "write a safetensors checkpoint at the end");
  cmd->add_option("--resume", f->resume, "continue from a checkpoint written by --save");
  f->eval_every_opt = cmd->add_option("--eval-every", f->eval_every,
                                      "validation loss every N updates (0: only at the end; pipelined runs: "
                                      "off unless given)")
                          ->capture_default_str();
  cmd->add_option("--eval-batches", c.eval_batches, "validation micro-batches")->capture_default_str();
  cmd->add_option("--threads", f->threads, "kernel threads (0: all cores)")->capture_default_str();
  AddPipelineFlags(cmd, &f->pipe);
}

}  // namespace

Result<TrainArgs> ReadTrainArgs(const std::vector<std::string>& args) {
  CLI::App app("train");
  TrainFlags f;
  AddTrainFlags(&app, &f);
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 parses a vector back to front
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    return Status::InvalidArgument(std::string("train flags: ") + e.what());
  }
  TrainArgs t;
  t.cfg = f.cfg;
  t.cfg.model.block_size = f.seq;
  if (!f.pipe.schedule.empty() && f.grad_clip->count() == 0) t.cfg.grad_clip = 0.0f;  // as RunTrain reads it
  const Result<exec::SamplerKind> sampler = ParseSampler(f.sampler);
  if (!sampler.ok()) return sampler.status();
  t.cfg.sampler = *sampler;
  t.pipe = f.pipe;
  t.pipe.cmd = nullptr;
  // The corpus is part of a point's identity; the default one adds nothing, so it is not read.
  if (!f.data.empty()) {
    Result<std::vector<uint16_t>> tokens = LoadCorpus(f.data, t.cfg.model.vocab_size, &t.pipe);
    if (!tokens.ok()) return tokens.status();
  }
  return t;
}

void AddTrainCommand(CLI::App& app) {
  auto f = std::make_shared<TrainFlags>();
  CLI::App* cmd = app.add_subcommand(
      "train", "Train the GPT model, unpipelined or with a pipeline schedule (--schedule)");
  AddTrainFlags(cmd, f.get());
  cmd->callback([f] { RunTrain(*f); });
}

}  // namespace paci::cli
