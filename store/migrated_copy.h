// MigratedCopy: a private copy of an older store, brought to the current schema, for a command
// that only reads. Reading must leave the user's file as it was (a committed traces/*.db stays
// clean), yet every reader speaks only the current schema; the copy lives in $TMPDIR and goes
// away with the last TraceStore that reads it.
#pragma once

#include <memory>
#include <string>

#include "proto/status.h"

namespace paci::store {

class MigratedCopy {
 public:
  // Copies `path` (through a read-only connection: the original is not written) with SQLite's
  // backup API and migrates the copy. Errors name the original file.
  static Result<std::shared_ptr<const MigratedCopy>> Make(const std::string& path, int busy_timeout_ms);

  MigratedCopy(const MigratedCopy&) = delete;
  MigratedCopy& operator=(const MigratedCopy&) = delete;
  ~MigratedCopy();  // removes the copy

  const std::string& path() const { return path_; }

 private:
  explicit MigratedCopy(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace paci::store
