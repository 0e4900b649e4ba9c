// The GPT's shape flags (--layers --dim --heads --seq --vocab --tie) with their defaults, shared
// by `paci train` and `paci profile`, so that one command line describes one model in both.
#pragma once

#include <CLI/CLI.hpp>

#include "exec/model/gpt.h"

namespace paci::cli {

// Adds the flags to `cmd`, reading into *model; --seq goes to *seq (train sets block_size from it
// after reading the corpus), which may be &model->block_size.
void AddGptShapeFlags(CLI::App* cmd, exec::GPTConfig* model, int* seq);

}  // namespace paci::cli
