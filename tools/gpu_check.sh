#!/usr/bin/env bash
# GPU check (issue 8): builds PACI with CUDA, runs the cuda-labelled tests (every kernel against its
# CPU reference, the CUDA stage model against StageModel, one-GPU mode against the CPU pipeline),
# the NCCL transport test when two GPUs are present, then the one-GPU training benchmark
# (GPT-2-small, bf16, PACI and 1F1B-flush, < 5 min): tokens/s, MFU against the card's dense bf16
# peak, step times and the simulator's prediction beside each. Everything is also written to
# $OUT_DIR (default build-gpu/gpu_check/).
#   tools/gpu_check.sh                 # full check
#   BENCH_ARGS="--steps 4" tools/gpu_check.sh
#   SKIP_BUILD=1 tools/gpu_check.sh    # reuse an existing build-gpu/
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD_DIR:-$ROOT/build-gpu}"
OUT_DIR="${OUT_DIR:-$BUILD/gpu_check}"
JOBS="${JOBS:-$(nproc)}"
BENCH_ARGS="${BENCH_ARGS:-}"
export PATH="/usr/local/cuda/bin:$PATH"

mkdir -p "$OUT_DIR"
echo "== device"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv | tee "$OUT_DIR/device.txt" || true

if [[ -z "${SKIP_BUILD:-}" ]]; then
  if ! grep -q "add_subdirectory(cuda)" "$ROOT/exec/CMakeLists.txt"; then
    echo "gpu_check: exec/CMakeLists.txt does not add exec/cuda yet; add:" >&2
    echo "  if(PACI_HAVE_CUDA) add_subdirectory(cuda) endif()" >&2
    exit 2
  fi
  echo "== build ($BUILD)"
  cmake -S "$ROOT" -B "$BUILD" -DPACI_WITH_CUDA=ON -DPACI_WITH_QT=OFF -DCMAKE_BUILD_TYPE=Release > "$OUT_DIR/configure.log"
  targets="cuda_gemm_shapes_test cuda_kernels_test cuda_stage_test cuda_pipeline_test gpu_train_bench"
  if cmake --build "$BUILD" --target help | grep -q "cuda_nccl_test"; then targets="$targets cuda_nccl_test"; fi
  # shellcheck disable=SC2086
  cmake --build "$BUILD" -j "$JOBS" --target $targets > "$OUT_DIR/build.log" 2>&1 \
    || { tail -40 "$OUT_DIR/build.log"; exit 1; }
fi

echo "== tests (ctest -L cuda; every comparison prints its max error and tolerance)"
status=0
(cd "$BUILD" && ctest -L cuda -V --timeout 300) > "$OUT_DIR/tests.log" 2>&1 || status=$?
grep -E "max abs err|loss cpu|update [0-9]+:|Skipped|SKIPPED|Failed|FAILED|tests passed|tests failed" \
  "$OUT_DIR/tests.log" | sed -E 's/^[0-9]+: //' || true
if [[ $status -ne 0 ]]; then echo "gpu_check: cuda tests FAILED (see $OUT_DIR/tests.log)"; fi

ngpu=$(nvidia-smi -L 2>/dev/null | grep -c "^GPU" || true)
if [[ -x "$BUILD/tests/cuda/cuda_nccl_test" && "$ngpu" -ge 2 ]] && command -v mpirun > /dev/null; then
  echo "== NCCL transport, 2 ranks"
  mpirun --allow-run-as-root --oversubscribe -np 2 "$BUILD/tests/cuda/cuda_nccl_test" 2>&1 \
    | tee "$OUT_DIR/nccl.log" || status=1
else
  echo "== NCCL transport: skipped ($ngpu GPU(s); needs 2 and mpirun)"
fi

echo "== benchmark (one-GPU mode, GPT-2-small, bf16)"
# shellcheck disable=SC2086
timeout 300 "$BUILD/bench/gpu_train_bench" $BENCH_ARGS 2>&1 | tee "$OUT_DIR/bench.txt" || status=1
echo "== done: logs in $OUT_DIR (status $status)"
exit $status
