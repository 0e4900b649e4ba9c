#!/usr/bin/env bash
# Re-records the stores in traces/ from real runs of this executor (each with its prediction).
# The numbers in traces/expected.txt are what `paci compare PRED MEASURED` reports on them; after
# re-recording, regenerate that file with the same script's last step (times differ per machine).
set -euo pipefail
cd "$(dirname "$0")/.."
PACI=build/tools/paci

# PACI and 1F1B-flush, P=2, K=4: the main job at 100 updates.
rm -f traces/paci-vs-flush-p2.db
PACI_DB=traces/paci-vs-flush-p2.db PACI_UPDATES=100 bash scripts/main-job.sh > /dev/null

# The other flush baselines at P=2, 4 micro-batches per update, 50 updates each.
rm -f traces/flush-baselines-p2.db
MODEL=(--layers 4 --dim 64 --heads 4 --seq 64 --microbatch-size 8 --lr 0.001 --warmup 20
       --updates 50 --accum 4 --stages 2 --db traces/flush-baselines-p2.db)
for s in gpipe zb-h1 interleaved-1f1b; do
  chunks=()
  [[ $s == interleaved-1f1b ]] && chunks=(--chunks 2)
  run=$("$PACI" train --schedule "$s" "${chunks[@]}" --name "baseline: $s" "${MODEL[@]}" |
        sed -n 's/^stored measured run \([0-9]*\) .*/\1/p')
  "$PACI" predict --run "$run" --db traces/flush-baselines-p2.db > /dev/null
done

# Golden values: "STORE PREDICTED MEASURED MAKESPAN_ERROR_PCT" for every linked pair.
for db in traces/*.db; do
  for pred in $(sqlite3 "$db" "select predicted from links order by predicted"); do
    meas=$(sqlite3 "$db" "select measured from links where predicted = $pred")
    err=$("$PACI" compare "$pred" "$meas" --db "$db" --json |
          python3 -c 'import json,sys; print("%.6f" % json.load(sys.stdin)["makespan_error_pct"])')
    echo "$(basename "$db") $pred $meas $err"
  done
done > traces/expected.txt
rm -f traces/*.db-wal traces/*.db-shm
