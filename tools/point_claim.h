// A study's claim on one grid point, so that two `paci study` processes on one store (or a re-run
// beside an orphaned child still training) never train the same point at once (issue 25). The
// claim is a lock on one byte of DB.claims, chosen by the point's identity, taken with an
// open-file-description lock (F_OFD_SETLK): the study holds it while its `paci train` child runs
// and passes it to that child as fd 3, so the claim lasts as long as either lives and ends with
// both, however they end (the kernel drops it with the last descriptor).
#pragma once

#include <optional>
#include <string>

#include "proto/status.h"

namespace paci::cli {

class PointClaim {
 public:
  // The claim on `key` in `db`'s claims file; nullopt when another process holds it. Fails only
  // when the claims file cannot be opened or locked for another reason.
  static Result<std::optional<PointClaim>> TryClaim(const std::string& db, const std::string& key);

  PointClaim(PointClaim&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  PointClaim& operator=(PointClaim&&) = delete;
  PointClaim(const PointClaim&) = delete;
  ~PointClaim();  // releases this process's hold (a child given fd() keeps its own)

  int fd() const { return fd_; }  // close-on-exec: a child gets it only by dup2 (posix_spawn)

  // The fd number a study's child holds its claim on.
  static constexpr int kChildFd = 3;

 private:
  explicit PointClaim(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace paci::cli
