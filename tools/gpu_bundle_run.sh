#!/usr/bin/env bash
# The GPU half of tools/gpu_check.sh, copied into the bundle as run.sh. Needs only the NVIDIA
# driver and the CUDA runtime. Usage: ./run.sh OUT_DIR   (every log and the store go to OUT_DIR,
# written as it goes, so a killed run still leaves its evidence). Exit 0 only if every step passed;
# 2 when no GPU is visible. Budget: under 6 minutes on one H100/H200, at most 2 minutes a test.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:?usage: run.sh OUT_DIR}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
TEST_TIMEOUT="${TEST_TIMEOUT:-120}"
UPDATES="${UPDATES:-30}"

# The CUDA runtime: the toolkit's folder, else the pip wheels' folders a PyTorch image carries.
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/nvidia/lib64 \
  /usr/lib/x86_64-linux-gnu; do
  [[ -d "$d" ]] && LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d"
done
export LD_LIBRARY_PATH
PATH="/usr/local/cuda/bin:$PATH"

log() { echo "$*" | tee -a "$OUT/summary.txt"; }
failures=0
fail() { log "FAIL: $*"; failures=$((failures + 1)); }

log "== device ($(date -u +%FT%TZ), bundle $(cat "$HERE/REVISION" 2> /dev/null))"
ngpu=0
if command -v nvidia-smi > /dev/null; then
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv 2>&1 | tee "$OUT/device.txt"
  ngpu=$(nvidia-smi -L 2> /dev/null | grep -c "^GPU" || true)
fi
if ((ngpu == 0)); then
  log "run.sh: no NVIDIA GPU is visible on this machine (nvidia-smi lists none); nothing was run"
  exit 2
fi

# Each GPU test: a timeout, its log in OUT, and a skip counts as a failure since a GPU is present.
run_test() {
  local name="$1"; shift
  local logf="$OUT/$name.log"
  timeout "$TEST_TIMEOUT" "$@" > "$logf" 2>&1
  local rc=$?
  local skipped
  skipped=$(grep -c "\[  SKIPPED \]" "$logf" || true)
  grep -E "max (abs )?err|tolerance|loss (cpu|gpu)" "$logf" | head -40 | tee -a "$OUT/summary.txt"
  if ((rc == 124)); then fail "$name timed out after ${TEST_TIMEOUT}s"
  elif ((rc != 0)); then fail "$name exited $rc (see $logf)"
  elif ((skipped > 0)); then fail "$name skipped $skipped test(s) although a GPU is visible"
  else log "ok: $name ($(grep -E '^\[  PASSED  \]' "$logf" | head -1))"; fi
}

log "== GPU tests (each kernel against its CPU reference)"
for t in $(cat "$HERE/BINARIES"); do
  case "$t" in cuda_*_test) run_test "$t" "$HERE/$t" ;; esac
done

log "== kernel tests under compute-sanitizer memcheck"
if command -v compute-sanitizer > /dev/null; then
  run_test memcheck_kernels compute-sanitizer --tool memcheck --error-exitcode 3 "$HERE/cuda_kernels_test"
else
  fail "compute-sanitizer not found on PATH"
fi

log "== paci train --device cuda: GPT-2-small shape, bf16, P=4, K=8, $UPDATES updates each"
DB="$OUT/gpu.db"
model=(--layers 12 --dim 768 --heads 12 --seq 1024 --vocab 50304 --microbatch-size 8)
runs=()
for sched in paci 1f1b-flush; do
  timeout 150 "$HERE/paci" train --device cuda --precision bf16 --schedule "$sched" --stages 4 \
    --accum 8 --updates "$UPDATES" "${model[@]}" --db "$DB" > "$OUT/train-$sched.log" 2>&1
  rc=$?
  head -3 "$OUT/train-$sched.log" | tee -a "$OUT/summary.txt"
  tail -4 "$OUT/train-$sched.log" | tee -a "$OUT/summary.txt"
  ((rc == 0)) || fail "paci train --schedule $sched exited $rc (see train-$sched.log)"
  # Losses must be finite and the first near ln V (a random model's cross-entropy).
  first=$(grep -oE "loss [0-9.naif+-]+" "$OUT/train-$sched.log" | head -1 | cut -d' ' -f2)
  if grep -qiE "loss (nan|-?inf)" "$OUT/train-$sched.log"; then fail "$sched: a non-finite loss"; fi
  if [[ -n "$first" ]] && ! awk -v l="$first" 'BEGIN { exit !(l > 9.8 && l < 12.0) }'; then
    fail "$sched: first loss $first is not near ln 50304 = 10.83"
  fi
  run=$(grep -oE "stored measured run [0-9]+" "$OUT/train-$sched.log" | awk '{print $4}')
  [[ -n "$run" ]] && runs+=("$run")
done

log "== prediction vs measurement (paci predict + paci compare)"
for run in "${runs[@]}"; do
  "$HERE/paci" predict --run "$run" --db "$DB" > "$OUT/predict-$run.log" 2>&1 || fail "paci predict --run $run"
  tee -a "$OUT/summary.txt" < "$OUT/predict-$run.log"
  pred=$(grep -oE "stored predicted run [0-9]+" "$OUT/predict-$run.log" | awk '{print $4}')
  if [[ -n "$pred" ]]; then
    "$HERE/paci" compare "$run" "$pred" --db "$DB" > "$OUT/compare-$run.log" 2>&1 || fail "paci compare $run $pred"
    tail -12 "$OUT/compare-$run.log" | tee -a "$OUT/summary.txt"
  fi
done
"$HERE/paci" summary --db "$DB" "${runs[@]}" 2>&1 | tee "$OUT/summary-runs.txt" | tee -a "$OUT/summary.txt"

if [[ -x "$HERE/gpu_train_bench" ]]; then
  log "== benchmark"
  timeout "$TEST_TIMEOUT" "$HERE/gpu_train_bench" > "$OUT/bench.txt" 2>&1 || fail "gpu_train_bench"
  tail -20 "$OUT/bench.txt" | tee -a "$OUT/summary.txt"
fi

if ((ngpu >= 2)); then
  log "== NCCL: not in this bundle (it is built without MPI); on a machine with MPI use the"
  log "   regular build: mpirun -np 2 build/tools/paci train --device cuda --transport nccl ..."
fi

log "== done: $failures failure(s); logs and gpu.db in $OUT"
((failures == 0))
