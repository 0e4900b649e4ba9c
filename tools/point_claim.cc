#include "tools/point_claim.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "proto/fnv1a.h"

namespace paci::cli {

Result<std::optional<PointClaim>> PointClaim::TryClaim(const std::string& db, const std::string& key) {
  const std::string path = db + ".claims";
  // Its own open file description per claim: each lock then belongs to the one point's holders.
  const int opened = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (opened < 0) return Status::IoError("cannot open " + path + ": " + std::strerror(errno));
  // Above kChildFd, so that the child's dup2 onto it always makes a new descriptor (one without
  // close-on-exec); the same description, so the same lock.
  const int fd = fcntl(opened, F_DUPFD_CLOEXEC, 10);
  close(opened);
  if (fd < 0) return Status::IoError("cannot open " + path + ": " + std::strerror(errno));
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  // One byte per point, anywhere in 2^62 bytes: two points share one with negligible chance.
  lock.l_start = static_cast<off_t>(Fnv1a64(key.data(), key.size()) >> 2);
  lock.l_len = 1;
  if (fcntl(fd, F_OFD_SETLK, &lock) == 0) return std::optional<PointClaim>(PointClaim(fd));
  const int err = errno;
  close(fd);
  if (err == EAGAIN || err == EACCES) return std::optional<PointClaim>();
  return Status::IoError("cannot lock " + path + ": " + std::strerror(err));
}

PointClaim::~PointClaim() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace paci::cli
