#!/usr/bin/env bash
# The same PACI run over in-process threads and over 4 MPI ranks (mpirun) must print identical
# losses; a rank that dies or hangs must end the whole job with a clear error within the receive
# timeout, leaving the store with what was committed. Usage: mpi_test.sh PACI_BINARY
set -euo pipefail
PACI="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
MPIRUN=(mpirun --allow-run-as-root --oversubscribe -np 4)

for i in $(seq 1 300); do echo "pipeline stage $((i % 7)) keeps its own optimizer and steps after every K-th backward."; done > "$work/corpus.txt"
MODEL=(--layers 2 --dim 32 --heads 2 --seq 16 --microbatch-size 2 --threads 1 --data "$work/corpus.txt" --lr 0.003 --warmup 2 --eval-batches 2 --grad-clip 0)
RUN=(train --schedule paci --stages 4 --accum 4 --updates 6 "${MODEL[@]}")

"$PACI" "${RUN[@]}" --transport threads --db "$work/threads.db" > "$work/threads.out"
"${MPIRUN[@]}" "$PACI" "${RUN[@]}" --transport mpi --db "$work/mpi.db" > "$work/mpi.out"
grep '^update' "$work/threads.out" | sed 's/| [0-9.]* s$//' > "$work/threads.loss"
grep '^update' "$work/mpi.out" | sed 's/| [0-9.]* s$//' > "$work/mpi.loss"
if [[ $(wc -l < "$work/threads.loss") -ne 6 ]]; then echo "FAIL: expected 6 update lines"; cat "$work/threads.out"; exit 1; fi
if ! diff "$work/threads.loss" "$work/mpi.loss"; then echo "FAIL: threads and MPI losses differ"; exit 1; fi
echo "ok: threads and mpi print identical losses:"; cat "$work/mpi.loss"
threads_ops=$(sqlite3 "$work/threads.db" "select count(*) from ops")
mpi_ops=$(sqlite3 "$work/mpi.db" "select count(*) from ops")
if [[ "$threads_ops" -ne "$mpi_ops" || "$mpi_ops" -eq 0 ]]; then echo "FAIL: ops stored: threads $threads_ops, mpi $mpi_ops"; exit 1; fi
echo "ok: both stores hold $mpi_ops ops"

for fault in crash hang; do
  start=$(date +%s)
  set +e
  timeout 120 "${MPIRUN[@]}" "$PACI" train --schedule paci --stages 4 --accum 4 --updates 40 "${MODEL[@]}" \
    --transport mpi --db "$work/$fault.db" --recv-timeout 5 --inject-fault "$fault:2:20" > "$work/$fault.out" 2> "$work/$fault.err"
  rc=$?
  set -e
  took=$(( $(date +%s) - start ))
  if [[ $rc -eq 0 || $rc -eq 124 ]]; then echo "FAIL: $fault: exit code $rc after ${took}s"; cat "$work/$fault.err"; exit 1; fi
  if [[ $took -gt 60 ]]; then echo "FAIL: $fault took ${took}s"; exit 1; fi
  if [[ $fault == hang ]] && ! grep -q "waited 5000 ms for the" "$work/$fault.err"; then
    echo "FAIL: hang: no timeout message"; cat "$work/$fault.err"; exit 1; fi
  if [[ $fault == crash ]] && ! grep -q "injected fault: stage 2 exits" "$work/$fault.err"; then
    echo "FAIL: crash: no message from the dying rank"; cat "$work/$fault.err"; exit 1; fi
  check=$(sqlite3 "$work/$fault.db" "pragma integrity_check")
  if [[ "$check" != ok ]]; then echo "FAIL: $fault: integrity_check says $check"; exit 1; fi
  "$PACI" runs list --db "$work/$fault.db" > "$work/$fault.runs"
  if awk 'NR > 1 && $3 == "complete"' "$work/$fault.runs" | grep -q .; then echo "FAIL: $fault: run marked complete"; cat "$work/$fault.runs"; exit 1; fi
  echo "ok: $fault ended the job in ${took}s (exit $rc), store intact: $(grep -m1 -E 'incomplete|failed|running' "$work/$fault.runs" || true)"
  grep -m2 "paci" "$work/$fault.err" || true
done
echo "1 passed, 0 failed"
