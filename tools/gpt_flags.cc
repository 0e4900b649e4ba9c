#include "tools/gpt_flags.h"

namespace paci::cli {

void AddGptShapeFlags(CLI::App* cmd, exec::GPTConfig* model, int* seq) {
  model->n_layer = 2;
  model->n_embd = 64;
  model->n_head = 4;
  *seq = 32;
  cmd->add_option("--layers", model->n_layer, "transformer blocks")->capture_default_str();
  cmd->add_option("--dim", model->n_embd, "embedding width")->capture_default_str();
  cmd->add_option("--heads", model->n_head, "attention heads")->capture_default_str();
  cmd->add_option("--seq", *seq, "sequence length T")->capture_default_str();
  cmd->add_option("--vocab", model->vocab_size, "vocabulary (256 for text; e.g. 50257 for GPT-2 .bin)")
      ->capture_default_str();
  cmd->add_flag("--tie", model->tie, "tie lm_head to the token embedding");
}

}  // namespace paci::cli
