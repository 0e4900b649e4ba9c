// paci-gui-demo-store OUT.db [--large N]: writes the viewer's demo runs (see demo_runs.h) for
// scripts/screenshots.sh and the 100,000-op timing. Prints the run ids.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/gui/demo_runs.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s OUT.db [--large N]\n", argv[0]);
    return 2;
  }
  paci::guitest::DemoOptions options;
  for (int i = 2; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--large") options.large_ops = std::strtoull(argv[i + 1], nullptr, 10);
  }
  auto ids = paci::guitest::WriteDemoStore(argv[1], options);
  if (!ids.ok()) {
    std::fprintf(stderr, "paci-gui-demo-store: %s\n", ids.status().ToString().c_str());
    return 1;
  }
  std::printf("predicted=%lld measured=%lld flush=%lld large=%lld runs=%zu\n",
              static_cast<long long>(ids->predicted), static_cast<long long>(ids->measured),
              static_cast<long long>(ids->flush), static_cast<long long>(ids->large),
              ids->all.size());
  return 0;
}
