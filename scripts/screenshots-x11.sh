#!/usr/bin/env bash
# Photographs the viewer as a person meets it: a real X window (Xvfb), the default window size,
# driven with xdotool (clicks on the tabs, no command-line view flags), captured from the X
# screen by scripts/xshot.py. Writes docs/screenshots/first-look-*.png (the demo store's run list,
# the empty Side-by-side tab, the Explorer and its sweep, and the run list of traces/'s real runs)
# and explorer-model-cost.png (the explorer costing GPT-2 Medium on H100s over NVLink, P = 8,
# K = 8, with its K x P sweep).
#   scripts/screenshots-x11.sh            (BUILD=build dir, default build; DISPLAY_NUM=99)
# Needs `scripts/install-deps.sh --screenshots` (xvfb, xdotool) and a built paci-viewer and
# paci-gui-demo-store.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
OUT=${OUT:-$ROOT/docs/screenshots}
NUM=${DISPLAY_NUM:-99}
WORK=$(mktemp -d)
Xvfb ":$NUM" -screen 0 1600x1000x24 -nolisten tcp -noreset > "$WORK/xvfb.log" 2>&1 &
XVFB=$!
VIEWER=
cleanup() {
  [[ -n "$VIEWER" ]] && kill "$VIEWER" 2> /dev/null || true
  kill "$XVFB" 2> /dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
export DISPLAY=":$NUM"
unset QT_QPA_PLATFORM
for _ in $(seq 50); do xdotool getmouselocation > /dev/null 2>&1 && break; sleep 0.1; done

"$BUILD/tests/gui/paci-gui-demo-store" "$WORK/demo.db" > /dev/null
"$BUILD/gui/paci-viewer" "$WORK/demo.db" > "$WORK/viewer.log" 2>&1 &
VIEWER=$!
WIN=$(xdotool search --sync --onlyvisible --name "PACI viewer" | head -1)
xdotool windowmove "$WIN" 0 0
sleep 2
shot() { python3 "$ROOT/scripts/xshot.py" "$OUT/$1"; echo "wrote $OUT/$1"; }
# Tab centres (window x, y = 32), measured on the first screenshot.
tab() { xdotool mousemove --window "$WIN" "$1" 32 click 1; sleep "${2:-2}"; }
shot first-look-runs.png
tab 170 2   # Side by side before any comparison: a hint, no time axis
shot first-look-side-by-side-empty.png
tab 263 5   # Explorer: must show the default configuration without any input
shot first-look-explorer.png
xdotool mousemove --window "$WIN" 144 568 click 1   # "Sweep K x P"
sleep 15
shot first-look-explorer-sweep.png
# Costs: "model on hardware" (default gpt2-medium, h100, nvlink4), then P = 8, K = 8 and a sweep.
xdotool mousemove --window "$WIN" 211 341 click 1; sleep 1; xdotool key Down Return; sleep 4
field() { xdotool mousemove --window "$WIN" 173 "$1" click 1; xdotool key ctrl+a; xdotool type "$2"; xdotool key Tab; sleep 3; }
field 260 8   # Stages P
field 289 8   # Per update K
xdotool mousemove --window "$WIN" 137 600 click 1   # "Sweep K x P" (the form is shorter now)
sleep 30
shot explorer-model-cost.png
kill "$VIEWER" 2> /dev/null || true
wait "$VIEWER" 2> /dev/null || true
# The run list of real runs: PACI and 1F1B-flush trained by this executor with their predictions
# (traces/), validation loss, tokens/s, makespan and the error of each prediction.
cp "$ROOT/traces/paci-vs-flush-p2.db" "$WORK/recorded.db"
chmod u+w "$WORK/recorded.db"
"$BUILD/gui/paci-viewer" "$WORK/recorded.db" > "$WORK/viewer2.log" 2>&1 &
VIEWER=$!
WIN=$(xdotool search --sync --onlyvisible --name "PACI viewer" | head -1)
xdotool windowmove "$WIN" 0 0
sleep 3
shot first-look-runs-recorded.png
