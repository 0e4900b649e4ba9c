// Arithmetic on the run record (ir::RunSetup) that every layer must do the same way: the tokens
// one optimizer update consumes. The one definition; the trainer, the study, the store's
// configuration columns and the record's builder all call it.
#pragma once

#include <cstdint>
#include <optional>

namespace paci {

// B sequences x T tokens x K micro-batches. nullopt when a factor is negative or the product
// overflows int64 (callers that checked their numbers may take the value).
std::optional<int64_t> TokensPerUpdate(int64_t microbatch_size, int64_t seq, int64_t accum);

}  // namespace paci
