// One integer read straight from a store file with SQL, for tests that check what was written
// underneath the TraceStore API (schema version, counts, summary rows).
#pragma once

#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include "store/sqlite_db.h"

namespace paci::store::testing {

// The first column of the first row, or -1 when the query returns no row.
inline int64_t Query(const std::string& path, const std::string& sql) {
  auto db = SqliteDb::Open(path, SQLITE_OPEN_READONLY);
  EXPECT_TRUE(db.ok());
  auto stmt = SqliteStmt::Prepare(*db, sql);
  EXPECT_TRUE(stmt.ok()) << stmt.status().ToString();
  bool row = false;
  EXPECT_TRUE(stmt->Step(&row).ok());
  return row ? stmt->Int(0) : -1;
}

}  // namespace paci::store::testing
