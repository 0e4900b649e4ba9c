#!/usr/bin/env bash
# Renders the viewer's screenshots into docs/screenshots/ without a display:
#   scripts/screenshots.sh            (BUILD=build dir, default build-gui; JOBS=2)
# It builds paci-viewer and paci-gui-demo-store, writes a demo trace store (simulated predictions
# of several schedules, a synthetic "measured" run = the same PACI spec simulated with jitter and a
# straggler, made-up loss curves, and a PACI P=8 K=8 run of ~100,000 ops), renders each view with
# `paci-viewer FILE.db ... --screenshot`, and times the 100,000-op run (bench-100k.txt).
# With MEASURED_DB=store.db (e.g. from `paci train` + `paci predict`), it also renders that store's
# prediction vs measurement (MEASURED_COMPARE=A,B, default 2,1) and curves (MEASURED_CURVES=1,3).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-gui}
OUT=${OUT:-$ROOT/docs/screenshots}
mkdir -p "$OUT"
cmake -S "$ROOT" -B "$BUILD" -DPACI_WITH_CUDA=OFF > /dev/null
cmake --build "$BUILD" -j"${JOBS:-2}" --target paci-viewer paci-gui-demo-store

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
DB=$WORK/demo.db
IDS=$("$BUILD/tests/gui/paci-gui-demo-store" "$DB" --large 100000)
echo "demo store: $IDS"
id() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" <<< "$IDS"; }
PRED=$(id predicted) MEAS=$(id measured) FLUSH=$(id flush) LARGE=$(id large)

export QT_QPA_PLATFORM=offscreen
V=("$BUILD/gui/paci-viewer" "$DB" --size 1600x1000)
"${V[@]}" --view runs --screenshot "$OUT/runs.png"
"${V[@]}" --run "$PRED" --view timeline --select-op 230 --range-ms 40,76 --screenshot "$OUT/timeline.png"
"${V[@]}" --run "$PRED" --view timeline --screenshot "$OUT/timeline.svg"
"${V[@]}" --compare "$PRED,$MEAS" --view compare --screenshot "$OUT/side-by-side.png"
"${V[@]}" --view explorer --schedule paci --stages 4 --accum 4 --screenshot "$OUT/explorer.png"
"${V[@]}" --curves "$PRED,$FLUSH" --view curves --target-loss 2.6 --screenshot "$OUT/curves.png"
"${V[@]}" --curves "$PRED,$FLUSH" --view curves --target-loss 2.6 --curve-axis wall \
  --screenshot "$OUT/curves-wall-time.png"
"${V[@]}" --run "$MEAS" --view replay --replay-at 0.45 --screenshot "$OUT/replay.png"
"${V[@]}" --run "$LARGE" --view timeline --screenshot "$OUT/timeline-100k.png"
"${V[@]}" --run "$LARGE" --bench | tee "$OUT/bench-100k.txt"
if [[ -n "${MEASURED_DB:-}" ]]; then
  cp "$MEASURED_DB" "$WORK/measured.db"  # the viewer only reads; a copy leaves the original alone
  M=("$BUILD/gui/paci-viewer" "$WORK/measured.db" --size 1600x1000)
  "${M[@]}" --compare "${MEASURED_COMPARE:-2,1}" --view compare --screenshot "$OUT/measured-compare.png"
  "${M[@]}" --curves "${MEASURED_CURVES:-1,3}" --view curves --curve-axis wall \
    --screenshot "$OUT/measured-curves.png"
fi
ls -l "$OUT"
