#!/usr/bin/env bash
# Installs the Debian packages PACI builds and tests with, skipping those already present.
# Usage: scripts/install-deps.sh [--test|--screenshots|--gpu]   (--test adds what only the test suite
# needs, clang-format-14 included; --screenshots what scripts/screenshots-x11.sh drives a real X window with; --gpu what
# tools/gpu_check.sh dryrun builds its bare Debian root with)
set -euo pipefail

BUILD_PKGS=(
  cmake g++ pkg-config patchelf ccache
  libprotobuf-dev protobuf-compiler
  libeigen3-dev libopenblas-dev libopenblas-pthread-dev
  libcli11-dev libfmt-dev nlohmann-json3-dev
  libsqlite3-dev sqlite3
  libgtest-dev libgmock-dev libbenchmark-dev
  openmpi-bin libopenmpi-dev
  qt6-base-dev qt6-charts-dev qt6-svg-dev libqt6opengl6-dev libxkbcommon-dev libgl-dev
  fortunes-min fortunes
)
TEST_PKGS=(python3 python3-torch python3-numpy xvfb xauth clang-14 clang-format-14 libfuzzer-14-dev libclang-rt-14-dev)
SHOT_PKGS=(python3 xvfb xdotool)
GPU_PKGS=(debootstrap)

want=("${BUILD_PKGS[@]}")
(($# <= 1)) || { echo "install-deps: one option at most, got: $*" >&2; exit 2; }
case "${1:-}" in
  "") ;;
  --test) want+=("${TEST_PKGS[@]}") ;;
  --screenshots) want+=("${SHOT_PKGS[@]}") ;;
  --gpu) want+=("${GPU_PKGS[@]}") ;;
  *) echo "install-deps: unknown option '$1' (none, --test, --screenshots or --gpu)" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
