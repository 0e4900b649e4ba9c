// SqliteDb and SqliteStmt: a thin RAII layer over the SQLite C API that turns its error codes into
// Status values whose message names the database file. Used only inside store/; callers of the
// store see TraceStore and RunWriter, never SQLite.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "proto/status.h"

namespace paci::store {

// Status for the connection's last error: "<path>: <what>: <sqlite message>".
Status SqliteError(sqlite3* db, std::string_view path, std::string_view what);

class SqliteDb {
 public:
  // flags: SQLITE_OPEN_READONLY or SQLITE_OPEN_READWRITE [| SQLITE_OPEN_CREATE]. A read-only
  // open in a directory this process cannot write, with no -wal file, opens the file immutable.
  static Result<SqliteDb> Open(const std::string& path, int flags);

  SqliteDb(SqliteDb&&) noexcept = default;
  SqliteDb& operator=(SqliteDb&&) noexcept = default;

  sqlite3* get() const { return db_.get(); }
  const std::string& path() const { return path_; }

  // Runs one or more statements that return no rows.
  Status Exec(std::string_view sql);
  // Status for the connection's last error, prefixed with the file and `what`.
  Status Error(std::string_view what) const { return SqliteError(db_.get(), path_, what); }
  int64_t LastInsertId() const { return sqlite3_last_insert_rowid(db_.get()); }

 private:
  struct Closer {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
  };
  SqliteDb(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}

  std::string path_;
  std::unique_ptr<sqlite3, Closer> db_;
};

// One prepared statement. Bind indexes are 1-based, column indexes 0-based (as in SQLite).
class SqliteStmt {
 public:
  static Result<SqliteStmt> Prepare(const SqliteDb& db, std::string_view sql);

  SqliteStmt(SqliteStmt&&) noexcept = default;
  SqliteStmt& operator=(SqliteStmt&&) noexcept = default;

  SqliteStmt& Bind(int i, int64_t v);
  SqliteStmt& BindDouble(int i, double v);  // NaN is stored as NULL
  SqliteStmt& BindText(int i, std::string_view v);
  SqliteStmt& BindBlob(int i, std::string_view bytes);
  SqliteStmt& BindNull(int i);
  // Binds column `col` of `from`'s current row as it is stored (type and bytes): a row copied
  // between stores without knowing its columns.
  SqliteStmt& BindColumn(int i, const SqliteStmt& from, int col);

  // Advances; *row says whether a row is available. Resets nothing.
  Status Step(bool* row);
  // Steps a statement that returns no rows, then resets it for the next use.
  Status Run();
  void Reset();

  int64_t Int(int col) const { return sqlite3_column_int64(stmt_.get(), col); }
  double Double(int col) const;  // NULL reads as NaN
  bool IsNull(int col) const { return sqlite3_column_type(stmt_.get(), col) == SQLITE_NULL; }
  std::string Text(int col) const;
  std::string Blob(int col) const;
  int ColumnCount() const { return sqlite3_column_count(stmt_.get()); }
  std::string ColumnName(int col) const { return sqlite3_column_name(stmt_.get(), col); }

 private:
  struct Finalizer {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
  };
  SqliteStmt(sqlite3* db, std::string path, sqlite3_stmt* s) : db_(db), path_(std::move(path)), stmt_(s) {}

  sqlite3* db_;  // not owned; the connection outlives its statements
  std::string path_;
  std::unique_ptr<sqlite3_stmt, Finalizer> stmt_;
};

// RAII transaction: BEGIN IMMEDIATE on Begin, ROLLBACK on destruction unless Commit succeeded.
// IMMEDIATE takes the write lock up front so that busy_timeout, not a deadlock, resolves
// contention between writer processes.
class SqliteTxn {
 public:
  static Result<SqliteTxn> Begin(SqliteDb& db);
  SqliteTxn(SqliteTxn&& o) noexcept : db_(o.db_) { o.db_ = nullptr; }
  SqliteTxn& operator=(SqliteTxn&&) = delete;
  ~SqliteTxn();
  Status Commit();

 private:
  explicit SqliteTxn(SqliteDb* db) : db_(db) {}
  SqliteDb* db_;
};

}  // namespace paci::store
