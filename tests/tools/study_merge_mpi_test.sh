#!/usr/bin/env bash
# A split study with one store per rank (`--db 'study.rank{rank}.db'` under a real mpirun), joined
# by `paci runs merge`, reports the same final.csv and bands.csv as the same study run in one
# process (issue 29 item 6); merging again is refused and leaves the store byte-identical, or with
# --skip-duplicates copies nothing; a merge --without-ops is smaller, reports the same and is read
# by runs list/show, summary and sweep --loss-curves.
# Usage: study_merge_mpi_test.sh PACI_BINARY
set -euo pipefail
PACI="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
MPIRUN=(mpirun --allow-run-as-root --oversubscribe -np 2)
# --threads 1: the same kernel threads in both, so the same seed gives the same bits.
STUDY=(study --schedules paci,1f1b-flush --stages 2 --accum 1,2 --lr 1e-3 --seeds 2 --updates 3
       --layers 2 --dim 32 --heads 4 --seq 16 --microbatch-size 2 --eval-batches 1 --threads 1)
fail() { echo "FAIL: $*"; exit 1; }
run() { "$@" > "$work/out.txt" 2>&1 || { cat "$work/out.txt"; fail "$*"; }; }

run "$PACI" "${STUDY[@]}" --db "$work/one.db"
run "${MPIRUN[@]}" "$PACI" "${STUDY[@]}" --db "$work/study.rank{rank}.db"
for r in 0 1; do
  grep -q "study rank $r of 2 (OMPI_COMM_WORLD_RANK/SIZE): 4 points, 0 already in $work/study.rank$r.db, 4 to train" "$work/out.txt" ||
    { cat "$work/out.txt"; fail "rank $r did not train into its own store"; }
done
[[ ! -e "$work/study.rank{rank}.db" ]] || fail "a store named with the placeholder itself was written"
echo "ok: each rank trained its 4 points into its own store"

run "$PACI" runs merge "$work/study.rank0.db" "$work/study.rank1.db" --db "$work/merged.db"
grep -q "merged.db: 8 run(s) merged from 2 store(s) into a new store" "$work/out.txt" || { cat "$work/out.txt"; fail "merge"; }
report() { run "$PACI" study report --db "$1" --out "$2" --no-plots; }
report "$work/one.db" "$work/r-one"
report "$work/merged.db" "$work/r-merged"
for f in final.csv bands.csv; do
  diff "$work/r-one/$f" "$work/r-merged/$f" || fail "$f of the merged per-rank stores differs from one process's"
done
[[ $(wc -l < "$work/r-one/final.csv") -eq 5 ]] || fail "final.csv should have 4 configurations"
echo "ok: merged per-rank stores report the same final.csv and bands.csv as one process"

sum=$(sha256sum < "$work/merged.db")
if "$PACI" runs merge "$work/study.rank1.db" --db "$work/merged.db" > "$work/out.txt" 2>&1; then fail "a re-merge was accepted"; else code=$?; fi
[[ $code -eq 2 ]] || { cat "$work/out.txt"; fail "a refused duplicate exits $code, not 2"; }
grep -q "study.rank1.db: run 1 .* is the same study point and seed as run .* of $work/merged.db" "$work/out.txt" ||
  { cat "$work/out.txt"; fail "the refusal does not name both runs"; }
[[ $(sha256sum < "$work/merged.db") == "$sum" ]] || fail "a refused merge changed the target"
run "$PACI" runs merge "$work/study.rank1.db" --db "$work/merged.db" --skip-duplicates
grep -q "0 run(s) merged" "$work/out.txt" || { cat "$work/out.txt"; fail "--skip-duplicates copied something"; }
echo "ok: merging again is refused (exit 2, target unchanged), or skips every run with --skip-duplicates"

run "$PACI" runs merge "$work/study.rank0.db" "$work/study.rank1.db" --db "$work/lean.db" --without-ops
report "$work/lean.db" "$work/r-lean"
diff "$work/r-one/final.csv" "$work/r-lean/final.csv" || fail "final.csv of the store without ops differs"
[[ $(stat -c %s "$work/lean.db") -lt $(stat -c %s "$work/merged.db") ]] || fail "--without-ops is not smaller"
[[ $(sqlite3 "$work/lean.db" "select count(*) from ops") -eq 0 ]] || fail "--without-ops copied ops"
run "$PACI" runs list --db "$work/lean.db"
run "$PACI" runs show 1 --db "$work/lean.db"
grep -q "ops: 0  updates: 3" "$work/out.txt" || { cat "$work/out.txt"; fail "runs show of a run without ops"; }
run "$PACI" summary 1 2 --db "$work/lean.db"
run "$PACI" sweep --loss-curves "$work/lean.db" --target-loss 20 --fwd-ms 1
echo "ok: a store merged --without-ops reports the same and is read by runs list/show, summary, sweep"
echo "sizes: with ops $(stat -c %s "$work/merged.db") B, without $(stat -c %s "$work/lean.db") B"
