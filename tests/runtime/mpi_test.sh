#!/usr/bin/env bash
# The same PACI run over in-process threads and over 4 MPI ranks (mpirun) must print identical
# losses; a rank that dies or hangs must end the whole job with a clear error within the receive
# timeout, leaving the store with what was committed; --save/--resume and --eval-every across ranks
# equal a straight run and the threads run bit for bit. Usage: mpi_test.sh PACI_BINARY
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

# --save / --resume across ranks: 4 + 4 resumed updates over MPI equal 8 straight ones bit for bit
# (1F1B-flush drains at every update), and equal the threads transport's 8.
losses() { sqlite3 "$1" "select idx || ' ' || printf('%.17g', loss) from updates where run = $2 order by idx"; }
CK=(train --schedule 1f1b-flush --stages 4 --accum 2 "${MODEL[@]}" --transport mpi --db "$work/ck.db")
"${MPIRUN[@]}" "$PACI" "${CK[@]}" --updates 8 > "$work/straight.out"
"${MPIRUN[@]}" "$PACI" "${CK[@]}" --updates 4 --decay-updates 8 --save "$work/ck.safetensors" > "$work/first.out"
"${MPIRUN[@]}" "$PACI" "${CK[@]}" --updates 8 --resume "$work/ck.safetensors" > "$work/second.out"
"$PACI" train --schedule 1f1b-flush --stages 4 --accum 2 "${MODEL[@]}" --updates 8 --db "$work/ck.db" > /dev/null
grep -q "^saved $work/ck.safetensors" "$work/first.out" || { echo "FAIL: --save printed nothing"; cat "$work/first.out"; exit 1; }
losses "$work/ck.db" 1 > "$work/straight.loss"
(losses "$work/ck.db" 2; losses "$work/ck.db" 3) > "$work/resumed.loss"
losses "$work/ck.db" 4 > "$work/threads8.loss"
if [[ $(wc -l < "$work/straight.loss") -ne 8 ]]; then echo "FAIL: expected 8 updates"; cat "$work/straight.loss"; exit 1; fi
if ! diff "$work/straight.loss" "$work/resumed.loss"; then echo "FAIL: MPI 4 + 4 resumed differ from 8 straight"; exit 1; fi
if ! diff "$work/straight.loss" "$work/threads8.loss"; then echo "FAIL: MPI and threads differ"; exit 1; fi
echo "ok: MPI --save after 4 + --resume for 4 equals 8 straight updates (and threads), bit for bit"

# --eval-every across ranks: the last rank gathers the other ranks' weight snapshots after the run;
# the stored validation and training losses equal the threads transport's, bit for bit.
vals() { sqlite3 "$1" "select idx || ' ' || printf('%.17g', loss) || ' ' || case when val_loss is null then '-' else printf('%.17g', val_loss) end from updates where run = $2 order by idx"; }
EV=(train --schedule paci --stages 4 --accum 2 --updates 6 --eval-every 3 "${MODEL[@]}" --db "$work/ev.db")
"${MPIRUN[@]}" "$PACI" "${EV[@]}" --transport mpi > "$work/ev_mpi.out"
"$PACI" "${EV[@]}" --transport threads > "$work/ev_threads.out"
vals "$work/ev.db" 1 > "$work/ev_mpi.loss"
vals "$work/ev.db" 2 > "$work/ev_threads.loss"
if [[ $(grep -c -v ' -$' "$work/ev_mpi.loss") -ne 2 ]]; then echo "FAIL: expected val losses at updates 3 and 6"; cat "$work/ev_mpi.loss"; exit 1; fi
if ! diff "$work/ev_mpi.loss" "$work/ev_threads.loss"; then echo "FAIL: --eval-every: MPI and threads differ"; exit 1; fi
echo "ok: --eval-every 3 over MPI stores the threads run's validation and training losses, bit for bit"

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
