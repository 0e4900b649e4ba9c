// The code revision (`git describe --always --dirty`) recorded with every stored run. It lives in
// one generated file, rewritten at build time only when the revision changes, so a commit
// recompiles one file rather than the whole of paci, and a build never records a stale revision.
#pragma once

namespace paci::cli {

const char* CodeRevision();  // "" when the source tree is not a git checkout

}  // namespace paci::cli
