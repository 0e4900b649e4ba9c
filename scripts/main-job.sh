#!/usr/bin/env bash
# The main job: predict, then run, then check the prediction.
#  1. `paci profile`: per-layer costs of a small GPT (6 blocks) on this machine, and how much two
#     stages sharing the cores slow each other down.
#  2. `paci predict --schedule`: PACI and 1F1B-flush on a 2-stage pipeline, from the profile alone,
#     before either has run (stored as predicted runs).
#  3. `paci train --schedule`: both on the default corpus (Debian's fortunes), one core per stage,
#     the same 4 micro-batches per update; the predictions are linked to the runs.
#  4. Predicted against measured makespan, tokens/s, bubble and memory, with the error; the stored
#     runs side by side; the same model at P = 8 on H100s over NVLink.
# Environment: PACI_UPDATES (default 300), PACI_DB (default paci.db), PACI_PROFILE (profile file).
set -euo pipefail
cd "$(dirname "$0")/.."
PACI=build/tools/paci
DB="${PACI_DB:-paci.db}"
UPDATES="${PACI_UPDATES:-300}"
PROFILE="${PACI_PROFILE:-paci-profile.json}"
SHAPE=(--layers 6 --dim 64 --heads 4 --seq 64)
TRAIN=("${SHAPE[@]}" --microbatch-size 8 --lr 0.001 --warmup 20 --updates "$UPDATES" --accum 4 --stages 2
       --db "$DB")

echo "== 1. paci profile ==" >&2
"$PACI" profile "${SHAPE[@]}" --microbatch-size 8 --threads 1 --colocate 2 -o "$PROFILE"

predict_before() {  # schedule, spec flags...: prints the predicted run id
  local schedule="$1"; shift
  "$PACI" predict --schedule "$schedule" --stages 2 "$@" --iterations "$UPDATES" --profile "$PROFILE" --colocate \
    --db "$DB" --name "main: $schedule, predicted before running" | tee /dev/stderr \
    | sed -n 's/^stored predicted run \([0-9]*\) .*/\1/p'
}
echo "== 2. predictions before running ==" >&2
paci_pred="$(predict_before paci --accum 4)"
flush_pred="$(predict_before 1f1b-flush --accum 4)"

train() {  # schedule: prints the measured run id
  echo "== 3. paci train --schedule $1 ==" >&2
  "$PACI" train --schedule "$1" --name "main: $1" "${TRAIN[@]}" | tee /dev/stderr \
    | sed -n 's/^stored measured run \([0-9]*\) .*/\1/p'
}
paci_run="$(train paci)"
flush_run="$(train 1f1b-flush)"
"$PACI" runs link "$paci_pred" "$paci_run" --db "$DB" > /dev/null
"$PACI" runs link "$flush_pred" "$flush_run" --db "$DB" > /dev/null

echo
echo "== 4. predicted (from the profile, before running) against measured =="
for pair in "paci $paci_run" "1f1b-flush $flush_run"; do
  read -r schedule run <<< "$pair"
  echo "-- $schedule (measured run $run)"
  # The same profile and split as step 2, so the same prediction; this call adds the measurement.
  "$PACI" predict --run "$run" --profile "$PROFILE" --colocate --db "$DB" --name "main: $schedule, checked" \
    | tail -n +2
done
echo
"$PACI" summary "$paci_run" "$paci_pred" "$flush_run" "$flush_pred" --db "$DB"
echo
echo "== the same model at P = 8 on H100s (NVLink 4), $((UPDATES * 4)) micro-batches, predicted =="
for spec in "paci --accum 4" "1f1b-flush --accum 4"; do
  read -r schedule rest <<< "$spec"
  # shellcheck disable=SC2086
  "$PACI" simulate --schedule "$schedule" --stages 8 $rest --iterations "$UPDATES" "${SHAPE[@]}" --vocab 256 \
    --microbatch-size 8 --hardware h100 --link nvlink4 --precision fp32 --no-db | grep -v '^simulated '
  echo
done
echo
echo "Open them side by side: $PACI compare $paci_pred $paci_run --db $DB"
echo "                        build/gui/paci-viewer $DB"
