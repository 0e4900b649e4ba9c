// The run record (ir::RunSetup) as the store keeps it: protobuf JSON in the runs table's
// description column. Runs `paci train` stored before the record was typed carry untyped JSON with
// the same facts under other spellings; they are read into the same message here, and only here,
// so every reader sees one typed record whatever wrote the store.
#pragma once

#include <optional>
#include <string>

#include "paci.pb.h"

namespace paci::store {

// The description column's text for a run with this record: protobuf JSON, proto field names.
std::string RunSetupToDescription(const ir::RunSetup& setup);

// The record a description holds: a typed record (it has "record_version"), or the untyped JSON of
// earlier versions read field by field (record_version 0; tokens_per_update computed when it has
// the micro-batch size, K and the sequence length). nullopt for anything else: free text, a sweep
// point's note, a run imported without one.
std::optional<ir::RunSetup> RunSetupFromDescription(const std::string& description);

}  // namespace paci::store
