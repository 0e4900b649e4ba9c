#!/usr/bin/env bash
# The main job: train a small GPT on the default corpus (Debian's fortunes) with PACI and with
# 1F1B-flush, the same micro-batches per update, on a 2-stage pipeline (one core per stage);
# predict both runs with the simulator from their measured op times; store the four runs in
# paci.db; print them side by side. Takes a few minutes on 2 cores.
# Environment: PACI_UPDATES (default 300), PACI_DB (default paci.db).
set -euo pipefail
cd "$(dirname "$0")/.."
PACI=build/tools/paci
DB="${PACI_DB:-paci.db}"
UPDATES="${PACI_UPDATES:-300}"
MODEL=(--layers 4 --dim 64 --heads 4 --seq 64 --microbatch-size 8 --lr 0.001 --warmup 20
       --updates "$UPDATES" --accum 4 --stages 2 --db "$DB")

run_and_predict() {
  local schedule="$1"
  echo "== paci train --schedule $schedule ==" >&2
  local out
  out="$("$PACI" train --schedule "$schedule" --name "main: $schedule" "${MODEL[@]}" | tee /dev/stderr)"
  local run
  run="$(sed -n 's/^stored measured run \([0-9]*\) .*/\1/p' <<< "$out")"
  local pred
  pred="$("$PACI" predict --run "$run" --db "$DB" | tee /dev/stderr | sed -n 's/^stored predicted run \([0-9]*\) .*/\1/p')"
  echo "$run $pred"
}

read -r paci_run paci_pred < <(run_and_predict paci)
read -r flush_run flush_pred < <(run_and_predict 1f1b-flush)
echo
"$PACI" summary "$paci_run" "$paci_pred" "$flush_run" "$flush_pred" --db "$DB"
echo
echo "Open them side by side: $PACI compare $paci_pred $paci_run --db $DB"
echo "                        build/gui/paci-viewer $DB"
