// The store's SQL schema: its version (PRAGMA user_version), the application id that marks a
// file as a paci trace store, and the forward migrations from each version to the next.
// store/README.md documents the tables; keep the two in step.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proto/status.h"
#include "store/run_info.h"
#include "store/sqlite_db.h"

namespace paci::store {

// "PACI" in ASCII, written to the SQLite header (PRAGMA application_id) of every store.
inline constexpr int32_t kApplicationId = 0x50414349;
// The version this code writes. Migration i (1-based) takes a store from version i-1 to i.
inline constexpr int kSchemaVersion = 4;

// Looks at an existing, non-empty file through a read-only connection, writing nothing, and says
// whether it is a paci store this code can open. *version receives its user_version.
// Errors name the file: not a database, a SQLite database of something else, or a newer schema.
Status InspectStoreFile(const std::string& path, int busy_timeout_ms, int* version);

// Brings an open read-write connection to kSchemaVersion inside one IMMEDIATE transaction:
// creates the tables in a new (empty) database, or applies the missing migrations.
// Re-checks inside the transaction, since another process may have got there first.
Status MigrateToCurrent(SqliteDb& db);

// Applies migrations up to `version` only; tests use it to build an old store.
Status MigrateTo(SqliteDb& db, int version);

// The configuration columns of `runs` (schedule_name .. device), in this order.
inline constexpr std::string_view kConfigColumns =
    "schedule_name, stages, accum, microbatch_size, tokens_per_update, lr, seed, precision, device";
inline constexpr int kConfigColumnCount = 9;
// Binds c to parameters first .. first + 8 (NULL where unset), in kConfigColumns order.
void BindConfig(SqliteStmt& stmt, int first, const RunConfig& c);
// Reads columns first .. first + 8 in kConfigColumns order.
RunConfig ReadConfig(const SqliteStmt& stmt, int first);

}  // namespace paci::store
