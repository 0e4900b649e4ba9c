#include "store/sqlite_db.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

namespace paci::store {

namespace {

// A reader of a WAL database needs its -shm file; in a directory it cannot write (and with no
// -wal file, so no writer can be at work) the file is opened immutable instead, which needs none.
bool ReadOnlyDirectoryWithoutWal(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  return access(dir.c_str(), W_OK) != 0 && access((path + "-wal").c_str(), F_OK) != 0;
}

// file: URI of a path, escaping what URIs reserve.
std::string FileUri(const std::string& path, const char* query) {
  std::string uri = "file:";
  for (unsigned char c : path) {
    if (std::isalnum(c) || std::strchr("/-_.~", c) != nullptr) {
      uri += static_cast<char>(c);
    } else {
      uri += fmt::format("%{:02X}", c);
    }
  }
  return uri + query;
}

}  // namespace

Result<SqliteDb> SqliteDb::Open(const std::string& path, int flags) {
  sqlite3* raw = nullptr;
  const bool immutable = (flags & SQLITE_OPEN_READONLY) != 0 && ReadOnlyDirectoryWithoutWal(path);
  const int rc = immutable ? sqlite3_open_v2(FileUri(path, "?immutable=1").c_str(), &raw,
                                             flags | SQLITE_OPEN_URI, nullptr)
                           : sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  SqliteDb db(path, raw);
  if (rc != SQLITE_OK) {
    return Status::IoError(
        fmt::format("{}: cannot open: {}", path, raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_extended_result_codes(raw, 1);
  // SQLite enforces REFERENCES only where each connection asks: every connection asks, so a
  // writer whose run was deleted fails instead of leaving orphan rows (issue 25).
  if (Status st = db.Exec("PRAGMA foreign_keys = ON"); !st.ok()) return st;
  return db;
}

Status SqliteDb::Exec(std::string_view sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db_.get(), std::string(sql).c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::Ok();
  std::string msg = fmt::format("{}: {}", path_, err ? err : sqlite3_errstr(rc));
  sqlite3_free(err);
  return Status::IoError(std::move(msg));
}

Status SqliteError(sqlite3* db, std::string_view path, std::string_view what) {
  const int code = sqlite3_errcode(db) & 0xff;
  std::string msg = fmt::format("{}: {}: {}", path, what, sqlite3_errmsg(db));
  if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT) return Status::Corruption(std::move(msg));
  return Status::IoError(std::move(msg));
}

Result<SqliteStmt> SqliteStmt::Prepare(const SqliteDb& db, std::string_view sql) {
  sqlite3_stmt* s = nullptr;
  const int rc = sqlite3_prepare_v2(db.get(), sql.data(), static_cast<int>(sql.size()), &s, nullptr);
  if (rc != SQLITE_OK) return db.Error("prepare");
  return SqliteStmt(db.get(), db.path(), s);
}

SqliteStmt& SqliteStmt::Bind(int i, int64_t v) {
  sqlite3_bind_int64(stmt_.get(), i, v);
  return *this;
}

SqliteStmt& SqliteStmt::BindDouble(int i, double v) {
  if (std::isnan(v)) return BindNull(i);
  sqlite3_bind_double(stmt_.get(), i, v);
  return *this;
}

SqliteStmt& SqliteStmt::BindText(int i, std::string_view v) {
  sqlite3_bind_text(stmt_.get(), i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}

SqliteStmt& SqliteStmt::BindBlob(int i, std::string_view bytes) {
  sqlite3_bind_blob(stmt_.get(), i, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
  return *this;
}

SqliteStmt& SqliteStmt::BindNull(int i) {
  sqlite3_bind_null(stmt_.get(), i);
  return *this;
}

SqliteStmt& SqliteStmt::BindColumn(int i, const SqliteStmt& from, int col) {
  sqlite3_bind_value(stmt_.get(), i, sqlite3_column_value(from.stmt_.get(), col));
  return *this;
}

Status SqliteStmt::Step(bool* row) {
  const int rc = sqlite3_step(stmt_.get());
  *row = rc == SQLITE_ROW;
  if (rc == SQLITE_ROW || rc == SQLITE_DONE) return Status::Ok();
  Status st = SqliteError(db_, path_, "step");
  sqlite3_reset(stmt_.get());
  return st;
}

Status SqliteStmt::Run() {
  bool row = false;
  Status st = Step(&row);
  Reset();
  return st;
}

void SqliteStmt::Reset() {
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
}

double SqliteStmt::Double(int col) const {
  if (IsNull(col)) return std::numeric_limits<double>::quiet_NaN();
  return sqlite3_column_double(stmt_.get(), col);
}

std::string SqliteStmt::Text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_.get(), col));
  return p ? std::string(p, sqlite3_column_bytes(stmt_.get(), col)) : std::string();
}

std::string SqliteStmt::Blob(int col) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_.get(), col));
  return p ? std::string(p, sqlite3_column_bytes(stmt_.get(), col)) : std::string();
}

Result<SqliteTxn> SqliteTxn::Begin(SqliteDb& db) {
  PACI_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
  return SqliteTxn(&db);
}

SqliteTxn::~SqliteTxn() {
  if (db_) db_->Exec("ROLLBACK");
}

Status SqliteTxn::Commit() {
  Status st = db_->Exec("COMMIT");
  if (st.ok()) db_ = nullptr;
  return st;
}

}  // namespace paci::store
