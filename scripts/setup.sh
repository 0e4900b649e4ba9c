#!/usr/bin/env bash
# One-command set-up on a fresh Debian 12 machine.
#   bash scripts/setup.sh          installs what is missing, builds, runs the main job
#   bash scripts/setup.sh --test   installs what is missing, builds, runs the whole test suite
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-run}"
if [[ $# -gt 1 || ( $# -eq 1 && "$1" != --test ) ]]; then
  echo "setup: unknown option '$*' (none: build and run the main job; --test: build and run the tests)" >&2
  exit 2
fi
if [[ "$mode" == "--test" ]]; then
  bash scripts/install-deps.sh --test
else
  bash scripts/install-deps.sh
fi

jobs="$(nproc)"
# -march=native: this build runs only here (CMakeLists.txt, PACI_NATIVE).
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DPACI_NATIVE=ON
cmake --build build -j"$jobs"

if [[ "$mode" == "--test" ]]; then
  cd build
  # Tests that spawn their own processes (MPI, multi-writer) are labelled and run serially.
  ctest --output-on-failure -j"$jobs" -LE serial
  ctest --output-on-failure -L serial
else
  bash scripts/main-job.sh
fi
