#include "store/migrated_copy.h"

#include <fmt/format.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "store/schema.h"
#include "store/sqlite_db.h"

namespace paci::store {
namespace {

// A new empty file in $TMPDIR (or /tmp) that only this user can read.
Result<std::string> NewTempFile() {
  const char* dir = std::getenv("TMPDIR");
  std::string name = fmt::format("{}/paci-store-XXXXXX", dir && *dir ? dir : "/tmp");
  std::vector<char> buf(name.begin(), name.end());
  buf.push_back('\0');
  const int fd = mkstemp(buf.data());
  if (fd < 0) return Status::IoError(fmt::format("{}: cannot create a temporary file", name));
  close(fd);
  return std::string(buf.data());
}

Status CopyDatabase(const SqliteDb& from, SqliteDb& to) {
  sqlite3_backup* backup = sqlite3_backup_init(to.get(), "main", from.get(), "main");
  if (!backup) return to.Error("copy for reading");
  const int rc = sqlite3_backup_step(backup, -1);
  sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) return from.Error("copy for reading");
  return Status::Ok();
}

}  // namespace

Result<std::shared_ptr<const MigratedCopy>> MigratedCopy::Make(const std::string& path, int busy_timeout_ms) {
  auto from = SqliteDb::Open(path, SQLITE_OPEN_READONLY);
  if (!from.ok()) return from.status();
  sqlite3_busy_timeout(from->get(), busy_timeout_ms);
  auto temp = NewTempFile();
  if (!temp.ok()) return temp.status();
  // Owned from here, so that every failure below removes the file.
  std::shared_ptr<const MigratedCopy> copy(new MigratedCopy(*temp));
  auto to = SqliteDb::Open(copy->path(), SQLITE_OPEN_READWRITE);
  if (!to.ok()) return to.status();
  PACI_RETURN_IF_ERROR(CopyDatabase(*from, *to));
  // The copy has one reader and no writer: no -wal and -shm files beside it to clean up.
  PACI_RETURN_IF_ERROR(to->Exec("PRAGMA journal_mode = DELETE"));
  if (Status st = MigrateToCurrent(*to); !st.ok())
    return Status::Corruption(
        fmt::format("{}: migrating a private copy for reading: {}", path, st.message()));
  return copy;
}

MigratedCopy::~MigratedCopy() {
  unlink(path_.c_str());
  unlink((path_ + "-journal").c_str());
}

}  // namespace paci::store
