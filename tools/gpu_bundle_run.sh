#!/usr/bin/env bash
# The GPU half of tools/gpu_check.sh, copied into the bundle as run.sh. Needs only the NVIDIA
# driver and the CUDA 13 runtime libraries (the toolkit's, or a PyTorch image's wheels).
#   ./run.sh OUT_DIR        the agenda below under one global deadline (DEADLINE_S, default 480 s)
#   PACI_DRYRUN=1 ./run.sh OUT_DIR
#                           the same lines on a machine without a GPU (tools/gpu_check.sh dryrun):
#                           GPU tests must report "no device", training runs with --device cpu on
#                           small shapes
# OUT_DIR receives two files only, rewritten after every step so a killed run still leaves its
# evidence: summary.txt (one screen, also printed as it goes) and run.tar.gz (every log and the
# store gpu.db). Exit 0 only if every step passed; 2 when no GPU is visible (not in a dry run).
# The agenda, most valuable first; each step writes its figures before the next starts:
#   1 kernels against their CPU references (and the other GPU tests)   2 stage slices fp32/bf16   3 every schedule's CUDA
#   pipeline against the CPU pipeline   4 bf16 against fp32 loss over 200 updates   5 GPT-2-small
#   bf16, one stage: tokens/s and MFU   6 PACI against 1F1B-flush, P = 4 sharing the GPU: predicted
#   before, measured, compared   7 GPT-2 Medium at P = 8 on one GPU: predicted against measured
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:?usage: run.sh OUT_DIR}"
mkdir -p "$OUT" && OUT="$(cd "$OUT" && pwd)"
DEADLINE_S="${DEADLINE_S:-480}"
DRYRUN="${PACI_DRYRUN:-0}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
: > "$OUT/summary.txt"
failures=0

log() { echo "$*" | tee -a "$OUT/summary.txt"; }
fail() { log "FAIL: $*"; failures=$((failures + 1)); }
pack() { tar -czf "$OUT/run.tar.gz.part" -C "$WORK" . && mv "$OUT/run.tar.gz.part" "$OUT/run.tar.gz"; }
left() { echo $((DEADLINE_S - SECONDS)); }
# A step's time limit: what it asks for, cut to what the deadline leaves (20 s kept for packing).
budget() { local want="$1" rest; rest=$(($(left) - 20)); ((rest < want)) && want=$rest; echo "$want"; }

# Libraries: the bundle's own first (LD_LIBRARY_PATH beats the RUNPATH patchelf wrote, so no system
# folder may come before it), then wherever this machine keeps the CUDA 13 runtime and cuBLAS.
lib_path="$HERE/lib"
for d in /usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda/targets/x86_64-linux/lib \
  /usr/local/nvidia/lib64 /opt/*/.venv/lib/python3*/site-packages/nvidia/cu13/lib \
  /opt/*/.venv/lib/python3*/site-packages/nvidia/*/lib; do
  [[ -d "$d" ]] && compgen -G "$d/libcublas.so.*" > /dev/null && lib_path="$lib_path:$d"
done
export LD_LIBRARY_PATH="$lib_path${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
PATH="/usr/local/cuda/bin:$PATH"
DATA=()
while IFS= read -r f; do DATA+=("$HERE/data/$f"); done < <(ls "$HERE/data" | LC_ALL=C sort)

log "== run.sh $(date -u +%FT%TZ), bundle $(cat "$HERE/REVISION" 2> /dev/null), deadline ${DEADLINE_S} s$([[ $DRYRUN == 1 ]] && echo ', DRY RUN (no GPU, --device cpu)')"
for t in $(cat "$HERE/BINARIES"); do
  if ldd "$HERE/$t" | grep -q "not found"; then fail "$t cannot load: $(ldd "$HERE/$t" | grep 'not found' | tr -s ' \t' ' ')"; fi
done
ngpu=0
if command -v nvidia-smi > /dev/null; then
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv > "$WORK/device.txt" 2>&1
  ngpu=$(nvidia-smi -L 2> /dev/null | grep -c "^GPU" || true)
  log "device: $(tail -n +2 "$WORK/device.txt" | head -1)"
fi
if ((ngpu == 0)) && [[ $DRYRUN != 1 ]]; then
  log "run.sh: no NVIDIA GPU is visible (nvidia-smi lists none); nothing was run"
  pack
  exit 2
fi
if [[ $DRYRUN == 1 ]]; then DEVICE=(--device cpu); else DEVICE=(--device cuda); fi

# A GPU test binary: pass, or (dry run only) skip for want of a device; the host-side ones
# (GEMM argument replay, the memory counter) pass in a dry run too.
gpu_test() {  # name, seconds
  local name="$1" limit logf rc skipped passed
  limit=$(budget "$2"); logf="$WORK/$name.log"
  ((limit > 0)) || { fail "$name: no time left"; return; }
  timeout "$limit" "$HERE/$name" > "$logf" 2>&1
  rc=$?
  skipped=$(grep -c "^\[  SKIPPED \]" "$logf" || true)
  passed=$(grep -oE "^\[  PASSED  \] [0-9]+" "$logf" | grep -oE "[0-9]+$" || echo 0)
  grep -E "max (abs )?err|tolerance|loss (cpu|gpu)|no CUDA device|no device" "$logf" | head -12 | tee -a "$OUT/summary.txt"
  if ((rc == 124)); then fail "$name timed out after ${limit} s"
  elif ((rc != 0)); then fail "$name exited $rc"
  elif [[ $DRYRUN == 1 ]]; then log "ok: $name without a GPU ($skipped skipped for no device, $passed passed)"
  elif ((skipped > 0)); then fail "$name skipped $skipped test(s) although a GPU is visible"
  else log "ok: $name ($passed passed)"; fi
  pack
}

# One `paci` call: its log, a time limit from the deadline; RUN_ID is the run it stored, if any.
paci_run() {  # label, seconds, paci arguments...
  local label="$1" limit rc; limit=$(budget "$2"); shift 2
  RUN_ID=""
  ((limit > 0)) || { fail "$label: no time left"; return; }
  timeout "$limit" "$HERE/paci" "$@" > "$WORK/$label.log" 2>&1
  rc=$?
  ((rc == 0)) || fail "$label exited $rc$( ((rc == 124)) && echo " (timeout ${limit} s)"): $(tail -1 "$WORK/$label.log")"
  RUN_ID=$(grep -oE "stored (measured|predicted) run [0-9]+" "$WORK/$label.log" | tail -1 | awk '{print $4}')
  pack
}

last_loss() { grep -oE "^update +$2 \| loss [0-9.]+" "$WORK/$1.log" | awk '{print $5}'; }

log "== 1. kernels against their CPU references, and every other GPU test but steps 2 and 3's"
for t in $(grep -E '^cuda_[a-z0-9_]+_test$' "$HERE/BINARIES"); do
  case "$t" in cuda_stage_test | cuda_pipeline_test) ;; *) gpu_test "$t" 90 ;; esac
done
log "== 2. stage slices, fp32 and bf16"
gpu_test cuda_stage_test 90
log "== 3. every schedule's CUDA pipeline against the CPU pipeline (fp32 losses)"
gpu_test cuda_pipeline_test 120

if [[ $DRYRUN == 1 ]]; then
  small=(--layers 2 --dim 32 --heads 4 --seq 16 --vocab 256 --microbatch-size 2)
  gpt2=("${small[@]}"); medium=(--layers 6 --dim 32 --heads 4 --seq 16 --vocab 256 --microbatch-size 2)
  curve_updates=20
else
  small=(--layers 4 --dim 256 --heads 4 --seq 128 --vocab 256 --microbatch-size 8)
  gpt2=(--layers 12 --dim 768 --heads 12 --seq 1024 --vocab 50304 --microbatch-size 8)
  medium=(--layers 24 --dim 1024 --heads 16 --seq 1024 --vocab 50304 --microbatch-size 8)
  curve_updates=200
fi
DB="$WORK/gpu.db"
# Validation still runs on the host after a GPU run (pipeline_trainer.cc): one batch bounds it
# (GPT-2 Medium: ~6 TFLOP on the host threads, about half a minute on 16 cores).
common=(--data "${DATA[@]}" --db "$DB" --eval-batches 1 "${DEVICE[@]}")

log "== 4. bf16 against fp32: loss over $curve_updates updates (1F1B-flush, P = 2, K = 4)"
for prec in fp32 bf16; do
  pr=(); [[ $DRYRUN == 1 ]] || pr=(--precision "$prec")
  paci_run "curve-$prec" 90 train --schedule 1f1b-flush --stages 2 --accum 4 --updates "$curve_updates" \
    "${small[@]}" "${pr[@]}" "${common[@]}" --name "curve $prec"
done
log "$(printf 'update %6s %9s %9s' '' fp32 bf16)"
for u in 1 $((curve_updates / 4)) $((curve_updates / 2)) "$curve_updates"; do
  log "$(printf 'update %6d %9s %9s' "$u" "$(last_loss curve-fp32 "$u")" "$(last_loss curve-bf16 "$u")")"
done

log "== 5. GPT-2-small, bf16, one stage: tokens/s and MFU"
if [[ $DRYRUN == 1 ]]; then log "(dry run: gpu_train_bench needs a GPU; its load was checked above)"
else
  limit=$(budget 150)
  timeout "$limit" "$HERE/gpu_train_bench" --stages 1 --microbatches 8 --steps 5 > "$WORK/bench-1stage.log" 2>&1 ||
    fail "gpu_train_bench --stages 1 exited $?"
  tail -8 "$WORK/bench-1stage.log" | tee -a "$OUT/summary.txt"
  pack
fi

log "== 6. PACI against 1F1B-flush, GPT-2-small shape, P = 4 sharing the GPU, K = 8, 30 updates"
declare -A measured
for sched in paci 1f1b-flush; do
  # Before running: the cost model of GPT-2 on H200s (four separate GPUs; these four share one).
  paci_run "simulate-$sched" 30 simulate --schedule "$sched" --stages 4 --accum 8 --updates 30 \
    --model gpt2 --hardware h200 --link nvlink4 --microbatch-size 8 --db "$DB" --name "$sched predicted before (4 H200s)"
  before="$RUN_ID"
  grep -E "^makespan" "$WORK/simulate-$sched.log" | tee -a "$OUT/summary.txt"
  paci_run "train-$sched" 150 train --schedule "$sched" --stages 4 --accum 8 --updates 30 \
    "${gpt2[@]}" "${common[@]}" --name "$sched P=4 one GPU"
  measured[$sched]="$RUN_ID"
  grep -E "^trained" "$WORK/train-$sched.log" | tee -a "$OUT/summary.txt"
  [[ -n "$before" && -n "$RUN_ID" ]] && "$HERE/paci" runs link "$before" "$RUN_ID" --db "$DB" > /dev/null
done
for sched in paci 1f1b-flush; do
  run="${measured[$sched]}"
  [[ -n "$run" ]] || continue
  # After running: the simulator on the run's own op times (what the schedule costs on this GPU).
  paci_run "predict-$sched" 30 predict --run "$run" --db "$DB"
  grep -E "makespan|tokens/s|bubble|error" "$WORK/predict-$sched.log" | head -6 | tee -a "$OUT/summary.txt"
done
[[ -n "${measured[paci]}" && -n "${measured[1f1b-flush]}" ]] &&
  "$HERE/paci" summary "${measured[paci]}" "${measured[1f1b-flush]}" --db "$DB" 2>&1 | tee "$WORK/summary-p4.txt" | tee -a "$OUT/summary.txt"

log "== 7. GPT-2 Medium, P = 8 on one GPU, K = 8, 10 updates: predicted against measured"
paci_run simulate-medium 30 simulate --schedule paci --stages 8 --accum 8 --updates 10 --model gpt2-medium \
  --hardware h200 --link nvlink4 --microbatch-size 8 --db "$DB" --name "medium predicted before (8 H200s)"
grep -E "^makespan" "$WORK/simulate-medium.log" | tee -a "$OUT/summary.txt"
paci_run train-medium 180 train --schedule paci --stages 8 --accum 8 --updates 10 "${medium[@]}" "${common[@]}" \
  --name "gpt2-medium P=8 one GPU"
run="$RUN_ID"
grep -E "^trained" "$WORK/train-medium.log" | tee -a "$OUT/summary.txt"
if [[ -n "$run" ]]; then
  paci_run predict-medium 30 predict --run "$run" --db "$DB"
  grep -E "makespan|time/update|error" "$WORK/predict-medium.log" | head -4 | tee -a "$OUT/summary.txt"
fi

log "== done in $SECONDS s: $failures failure(s); logs and gpu.db in run.tar.gz"
pack
((failures == 0))
