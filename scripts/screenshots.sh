#!/usr/bin/env bash
# Renders the viewer's screenshots into docs/screenshots/ without a display:
#   scripts/screenshots.sh            (BUILD=build dir, default build-gui; JOBS=2)
# It builds paci-viewer and paci-gui-demo-store, writes a demo trace store (simulated predictions
# of several schedules, a synthetic "measured" run = the same PACI spec simulated with jitter and a
# straggler, made-up loss curves, and a PACI P=8 K=8 run of ~100,000 ops), renders each view with
# `paci-viewer FILE.db ... --screenshot`, and times the 100,000-op run (bench-100k.txt).
# The side-by-side and curve views come from real runs: MEASURED_DB (default the recorded
# traces/paci-vs-flush-p2.db: PACI and 1F1B-flush trained by this executor, with predictions),
# prediction vs measurement MEASURED_COMPARE=A,B (default 2,1), curves MEASURED_CURVES (default 1,3).
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
PRED=$(id predicted) MEAS=$(id measured) LARGE=$(id large)

export QT_QPA_PLATFORM=offscreen
V=("$BUILD/gui/paci-viewer" "$DB" --size 1600x1000)
"${V[@]}" --view runs --screenshot "$OUT/runs.png"
"${V[@]}" --run "$PRED" --view timeline --select-op 230 --range-ms 40,76 --screenshot "$OUT/timeline.png"
"${V[@]}" --run "$PRED" --view timeline --screenshot "$OUT/timeline.svg"
"${V[@]}" --view explorer --schedule paci --stages 4 --accum 4 --screenshot "$OUT/explorer.png"
"${V[@]}" --run "$MEAS" --view replay --replay-at 0.45 --screenshot "$OUT/replay.png"
"${V[@]}" --run "$LARGE" --view timeline --screenshot "$OUT/timeline-100k.png"
"${V[@]}" --run "$LARGE" --bench | tee "$OUT/bench-100k.txt"
cp "${MEASURED_DB:-$ROOT/traces/paci-vs-flush-p2.db}" "$WORK/measured.db"  # the viewer only reads; a copy leaves the original alone
M=("$BUILD/gui/paci-viewer" "$WORK/measured.db" --size 1600x1000)
"${M[@]}" --compare "${MEASURED_COMPARE:-2,1}" --view compare --screenshot "$OUT/side-by-side.png"
"${M[@]}" --curves "${MEASURED_CURVES:-1,3}" --view curves --screenshot "$OUT/curves.png"
"${M[@]}" --curves "${MEASURED_CURVES:-1,3}" --view curves --curve-axis wall --target-loss 3.1 \
  --screenshot "$OUT/curves-wall-time.png"
ls -l "$OUT"
