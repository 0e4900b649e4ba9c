// The one exception boundary of every PACI program (`paci`, `paci-viewer`, the benchmarks) and
// the one way a command fails: Fail(code, message) throws, ExitBoundary catches at the top of
// main() and turns it, or any stray exception, into a message and an exit code:
//   0 success, 1 runtime or internal failure, 2 bad flags or bad input; never an abort.
// Header-only, so that programs of every layer can share it without linking tools/.
#pragma once

#include <cstdio>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>

#include "proto/status.h"

namespace paci {

inline constexpr int kExitRuntimeError = 1;
inline constexpr int kExitBadInput = 2;

// What Fail throws: the message is printed once, by ExitBoundary.
class CommandError : public std::runtime_error {
 public:
  CommandError(int exit_code, const std::string& message) : std::runtime_error(message), code_(exit_code) {}
  int exit_code() const { return code_; }

 private:
  int code_;
};

[[noreturn]] inline void Fail(int code, const std::string& message) { throw CommandError(code, message); }

// A failed Status, its message after `context` ("--db: "): I/O and internal errors exit 1, the
// rest (bad input, a foreign or damaged file, not found) 2.
[[noreturn]] inline void Fail(const Status& st, const std::string& context = "") {
  const bool runtime = st.code() == Status::Code::kIoError || st.code() == Status::Code::kInternal;
  Fail(runtime ? kExitRuntimeError : kExitBadInput, context + st.message());
}

// Runs body() and returns its exit code. `program` prefixes every message ("paci simulate");
// `who` is called at the time of the error, so it can name what was running.
template <typename Body, typename Who>
int ExitBoundary(Who who, Body body) {
  try {
    return body();
  } catch (const CommandError& e) {
    std::fprintf(stderr, "%s: %s\n", std::string(who()).c_str(), e.what());
    return e.exit_code();
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "%s: out of memory\n", std::string(who()).c_str());
    return kExitRuntimeError;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: internal error: %s\n", std::string(who()).c_str(), e.what());
    return kExitRuntimeError;
  } catch (...) {
    std::fprintf(stderr, "%s: internal error: unknown exception\n", std::string(who()).c_str());
    return kExitRuntimeError;
  }
}

}  // namespace paci
