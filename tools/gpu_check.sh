#!/usr/bin/env bash
# The GPU acceptance check, in two halves, because a lent GPU machine has the NVIDIA driver and
# the CUDA toolkit but none of our Debian libraries and no network, and is lent by the minute:
#   tools/gpu_check.sh prepare [BUNDLE]   on the build machine: a portable build (no -march=native,
#                                         sm_90, Eigen GEMMs, no MPI, no Qt) and a self-contained
#                                         folder (default gpu_bundle/) with the training text, then
#                                         `verify` on it
#   tools/gpu_check.sh verify BUNDLE      the size: bundle and repository both travel, 48 MiB at most
#   tools/gpu_check.sh dryrun [BUNDLE]    BUNDLE/run.sh in a minimal Debian root (debootstrap
#                                         minbase, cached) holding none of our dependencies and
#                                         only the CUDA toolkit's libraries, no driver: every binary
#                                         loads from the bundle, GPU tests say "no device", training,
#                                         predict and compare run with --device cpu
#   tools/gpu_check.sh all                prepare, then dryrun: what to run before carrying a bundle
#   BUNDLE/run.sh OUT                     on the GPU machine: the agenda under one deadline; OUT gets
#                                         summary.txt and run.tar.gz (gpu_bundle_run.sh)
# Carry the bundle to the GPU machine (it needs nothing but the driver and the CUDA 13 runtime).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LIMIT_BYTES=$((48 * 1024 * 1024))  # bundle and repository together

usage() {
  sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# Libraries a bare CUDA machine is expected to have: glibc (every Linux) and the NVIDIA driver and
# CUDA runtime libraries (the toolkit or the driver provides them). Everything else is bundled.
is_system_lib() {
  case "$1" in
    linux-vdso.so* | ld-linux*.so* | libc.so.* | libm.so.* | libdl.so.* | libpthread.so.* | \
      librt.so.* | libresolv.so.*) return 0 ;;
    libcuda.so* | libcudart.so* | libcublas.so* | libcublasLt.so* | libnccl.so* | libnvidia-*) return 0 ;;
  esac
  return 1
}

# Binaries the GPU half runs: the CLI, every GPU test (cuda_*_test) and the GPU benchmark.
bundle_targets() {
  local build="$1"
  cmake --build "$build" --target help 2> /dev/null | sed -E 's/^\.\.\. //; s/:.*$//' |
    grep -E '^(paci|gpu_train_bench|cuda_[a-z0-9_]+_test)$' | sort -u
}

prepare() {
  local bundle="${1:-$ROOT/gpu_bundle}"
  local build="${BUILD_DIR:-$ROOT/build-gpu-portable}"
  command -v patchelf > /dev/null || { echo "gpu_check: patchelf missing (bash scripts/install-deps.sh)" >&2; exit 2; }
  command -v nvcc > /dev/null || export PATH="/usr/local/cuda/bin:$PATH"
  command -v nvcc > /dev/null || { echo "gpu_check: prepare needs the CUDA toolkit (nvcc) on this machine" >&2; exit 2; }

  echo "== portable build in $build (no -march=native, sm_90, Eigen GEMMs, no MPI, no Qt)"
  # Eigen GEMMs: OpenBLAS and libgfortran alone were 40 MB of the 64 MiB a call may carry.
  cmake -S "$ROOT" -B "$build" -DCMAKE_BUILD_TYPE=Release -DPACI_NATIVE=OFF -DPACI_WITH_CUDA=ON \
    -DCMAKE_CUDA_ARCHITECTURES=90 -DPACI_WITH_MPI=OFF -DPACI_WITH_QT=OFF -DPACI_GEMM=eigen > /dev/null
  local targets
  targets=$(bundle_targets "$build")
  # shellcheck disable=SC2086
  cmake --build "$build" -j"$(nproc)" --target $targets

  echo "== bundle $bundle"
  rm -rf "$bundle"
  mkdir -p "$bundle/lib"
  local t bin lib
  for t in $targets; do
    bin=$(find "$build" -type f -name "$t" -perm -u+x | head -n 1)
    [[ -n "$bin" ]] || { echo "gpu_check: built $t but cannot find it under $build" >&2; exit 1; }
    cp "$bin" "$bundle/$t"
  done
  # Copy every non-system library the binaries need (ldd resolves the whole closure).
  for t in $targets; do
    ldd "$bundle/$t" | awk '/=> \//{print $1, $3}' | while read -r name path; do
      if ! is_system_lib "$name" && [[ ! -e "$bundle/lib/$name" ]]; then cp -L "$path" "$bundle/lib/$name"; fi
    done
  done
  strip --strip-unneeded "$bundle"/lib/*.so* "$bundle"/* 2> /dev/null || true
  for t in $targets; do patchelf --set-rpath '$ORIGIN/lib' "$bundle/$t"; done
  for lib in "$bundle"/lib/*; do patchelf --set-rpath '$ORIGIN' "$lib"; done
  # The training text: the default corpus's files (a bare machine has no fortunes package).
  mkdir -p "$bundle/data"
  "$ROOT/tools/gpu_corpus_files.sh" | while read -r f; do cp -L "$f" "$bundle/data/"; done
  cp "$ROOT/tools/gpu_bundle_run.sh" "$bundle/run.sh"
  cp "$ROOT/tools/gpu_bundle_libs.sh" "$bundle/libs.sh"
  chmod +x "$bundle/run.sh"
  git -C "$ROOT" describe --always --dirty > "$bundle/REVISION" 2> /dev/null || echo unknown > "$bundle/REVISION"
  echo "$targets" | tr ' ' '\n' > "$bundle/BINARIES"
  verify "$bundle"
}

# The size a call may carry. Where each binary's libraries come from is the dry run's to show
# (gpu_bundle_libs.sh in a root that has none of our dependencies).
verify() {
  local bundle="${1:?verify needs the bundle folder}"
  [[ -d "$bundle" && -f "$bundle/BINARIES" ]] || { echo "gpu_check: $bundle is not a bundle (no BINARIES file)" >&2; exit 2; }
  local bytes repo_bytes
  bytes=$(du -sb "$bundle" | cut -f1)
  repo_bytes=$(git -C "$ROOT" ls-files -z | (cd "$ROOT" && xargs -0 du -cb 2> /dev/null) | tail -1 | cut -f1)
  echo "bundle size: $bytes bytes ($((bytes / 1024 / 1024)) MiB), with the repository $(((bytes + repo_bytes) / 1024 / 1024)) MiB; limit 48 MiB"
  ((bytes + repo_bytes < LIMIT_BYTES)) || { echo "gpu_check: bundle and repository over 48 MiB" >&2; exit 1; }
}

# A minimal Debian root (debootstrap minbase, from this machine's own apt source, kept between runs),
# the bundle copied in, the CUDA toolkit's folder bound read-only where the GPU image has it, no driver
# and none of our libraries; then ld.so --list of every binary and run.sh as a dry run.
dryrun() {
  local bundle="${1:-$ROOT/gpu_bundle}" root="${BARE_ROOT:-$ROOT/build-gpu-portable/bare-root}"
  [[ -d "$bundle" && -f "$bundle/BINARIES" ]] || { echo "gpu_check: $bundle is not a bundle (run prepare)" >&2; exit 2; }
  local start=$SECONDS
  if [[ ! -x "$root/bin/bash" ]]; then
    command -v debootstrap > /dev/null || { echo "gpu_check: dryrun needs debootstrap (bash scripts/install-deps.sh --gpu)" >&2; exit 2; }
    local suite mirror
    suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
    mirror=$(grep -hE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources 2> /dev/null |
      grep -v security | grep -oE 'https?://[^ ]*debian/?' | head -1)
    [[ -n "$suite" && -n "$mirror" ]] || { echo "gpu_check: no Debian suite or mirror in this machine's apt sources" >&2; exit 2; }
    echo "== minimal root: debootstrap --variant=minbase $suite (once; kept in $root)"
    debootstrap --variant=minbase "$suite" "$root.part" "$mirror" > "$root.log" 2>&1 ||
      { echo "gpu_check: debootstrap failed, see $root.log" >&2; exit 1; }
    mv "$root.part" "$root"
  fi
  local cuda
  cuda=$(readlink -f /usr/local/cuda)
  rm -rf "$root/bundle" "$root/out" && cp -a "$bundle" "$root/bundle" && mkdir -p "$root/out" "$root/usr/local/cuda"
  echo "== dry run in $root: $(du -sh "$root" | cut -f1) root, none of our Debian libraries, CUDA toolkit $cuda bound read-only, no driver"
  local rc=0
  unshare -m bash -c "
    set -e
    mount --bind '$cuda' '$root/usr/local/cuda' && mount -o remount,bind,ro '$root/usr/local/cuda'
    mount -t proc proc '$root/proc' && mount --bind /dev '$root/dev'
    chroot '$root' /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
      PACI_DRYRUN=1 DEADLINE_S=${DEADLINE_S:-480} bash -c 'bash /bundle/libs.sh /bundle && bash /bundle/run.sh /out'
  " || rc=$?
  cp "$root/out/summary.txt" "$root/out/run.tar.gz" "${DRYRUN_OUT:-$ROOT/build-gpu-portable}/" 2> /dev/null || true
  echo "== dry run: exit $rc in $((SECONDS - start)) s (summary and run.tar.gz in ${DRYRUN_OUT:-$ROOT/build-gpu-portable})"
  return $rc
}

case "${1:-}" in
  prepare) shift; prepare "$@" ;;
  verify) shift; verify "$@" ;;
  dryrun) shift; dryrun "$@" ;;
  all) shift; start=$SECONDS; prepare "$@" && dryrun "$@" && echo "gpu_check all: prepare and dryrun passed in $((SECONDS - start)) s" ;;
  *) usage ;;
esac
