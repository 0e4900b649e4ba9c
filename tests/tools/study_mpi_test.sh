#!/usr/bin/env bash
# `paci study` under a real mpirun: two ranks share one grid into one store, each training its
# half, every point exactly once; the same command again trains nothing on either rank.
# Usage: study_mpi_test.sh PACI_BINARY
set -euo pipefail
PACI="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
MPIRUN=(mpirun --allow-run-as-root --oversubscribe -np 2)
STUDY=(study --schedules paci,1f1b-flush --stages 2 --accum 1,2 --lr 1e-3 --seeds 2 --updates 3
       --layers 1 --dim 16 --heads 2 --seq 8 --microbatch-size 2 --eval-every 0 --eval-batches 1
       --db "$work/study.db")

"${MPIRUN[@]}" "$PACI" "${STUDY[@]}" > "$work/first.out" 2>&1 || { cat "$work/first.out"; exit 1; }
for r in 0 1; do
  grep -q "study rank $r of 2 (OMPI_COMM_WORLD_RANK/SIZE): this rank trains grid points i with i % 2 == $r: 4 of 8" "$work/first.out" ||
    { echo "FAIL: rank $r did not report its share"; cat "$work/first.out"; exit 1; }
  grep -q "study rank $r of 2 (OMPI_COMM_WORLD_RANK/SIZE): trained 4, skipped 0, failed 0" "$work/first.out" ||
    { echo "FAIL: rank $r did not train its 4 points"; cat "$work/first.out"; exit 1; }
done
runs=$(sqlite3 "$work/study.db" "select count(*) from runs where status = 'complete'")
points=$(sqlite3 "$work/study.db" "select count(distinct schedule_name || ' ' || accum || ' ' || seed) from runs where status = 'complete'")
if [[ "$runs" -ne 8 || "$points" -ne 8 ]]; then echo "FAIL: $runs complete runs of $points points, expected 8 of 8"; exit 1; fi
echo "ok: two ranks trained 8 points once each into one store"

"${MPIRUN[@]}" "$PACI" "${STUDY[@]}" > "$work/again.out" 2>&1 || { cat "$work/again.out"; exit 1; }
if [[ $(grep -c "trained 0, skipped 4, failed 0" "$work/again.out") -ne 2 ]]; then
  echo "FAIL: the re-run trained again"; cat "$work/again.out"; exit 1
fi
echo "ok: the same command again trains nothing on either rank"
