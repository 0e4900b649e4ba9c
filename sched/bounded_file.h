// Reading a whole input file without trusting it: what is not a regular file (/dev/zero, a FIFO,
// a terminal) or is larger than the caller's limit is refused before it is read, so a careless
// path cannot read until memory runs out (issue 25). Header-only, shared by every file reader
// above proto/ (model, hardware and link files, profiles, token files, checkpoints).
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "proto/status.h"

namespace paci {

// Small descriptive inputs (model, hardware and link files, cost files, profiles): 256 MiB.
inline constexpr uint64_t kMaxInputFileBytes = uint64_t{256} << 20;

// The bytes of `path`, at most `max_bytes` of them. `limit_name` names the limit in the error
// ("kMaxInputFileBytes (sched/bounded_file.h)"). Errors: NotFound when it cannot be opened,
// InvalidArgument when it is not a regular file or too large, IoError on a read failure.
inline Result<std::string> ReadBoundedFile(const std::string& path, uint64_t max_bytes, const std::string& limit_name) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);  // a FIFO must not block the open
  if (fd < 0) return Status::NotFound(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::InvalidArgument(path + ": not a regular file");
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return Status::InvalidArgument(path + ": " + std::to_string(st.st_size) + " bytes, beyond the limit " +
                                   limit_name + " of " + std::to_string(max_bytes));
  }
  std::string bytes;
  char buf[1 << 16];
  for (;;) {  // read to the end, not to st_size: the file may have changed since fstat
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return Status::IoError(path + ": read failed: " + std::strerror(err));
    }
    if (n == 0) break;
    if (bytes.size() + static_cast<size_t>(n) > max_bytes) {
      ::close(fd);
      return Status::InvalidArgument(path + ": grew beyond the limit " + limit_name + " of " +
                                     std::to_string(max_bytes) + " bytes while being read");
    }
    bytes.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return bytes;
}

}  // namespace paci
