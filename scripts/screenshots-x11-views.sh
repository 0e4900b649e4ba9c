#!/usr/bin/env bash
# Photographs each of the viewer's views in a real X window (Xvfb, no window manager: the window
# fills the screen) at 1600x1000 and at 1000x700: docs/screenshots/x11-{timeline,explorer,
# side-by-side,replay,curves}-WxH.png. The views are opened with the viewer's own flags
# (--run/--compare/--curves and --view, no --screenshot: the interactive window, drawn by X),
# captured from the X screen by scripts/xshot.py once the window has settled.
#   scripts/screenshots-x11-views.sh      (BUILD=build dir, default build; displays DISPLAY_NUM+1..+10,
#                                          DISPLAY_NUM default 80)
# Needs `scripts/install-deps.sh --screenshots` (xvfb, xdotool) and a built paci-viewer and
# paci-gui-demo-store.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
OUT=${OUT:-$ROOT/docs/screenshots}
NUM=${DISPLAY_NUM:-80}
WORK=$(mktemp -d)
XVFB= VIEWER=
stop() {
  [[ -n "$VIEWER" ]] && { kill "$VIEWER" 2> /dev/null || true; wait "$VIEWER" 2> /dev/null || true; }
  [[ -n "$XVFB" ]] && { kill "$XVFB" 2> /dev/null || true; wait "$XVFB" 2> /dev/null || true; }
  VIEWER= XVFB=
}
trap 'stop; rm -rf "$WORK"' EXIT
export DISPLAY=":$NUM"
unset QT_QPA_PLATFORM

IDS=$("$BUILD/tests/gui/paci-gui-demo-store" "$WORK/demo.db")
id() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" <<< "$IDS"; }
PRED=$(id predicted) MEAS=$(id measured)
cp "$ROOT/traces/paci-vs-flush-p2.db" "$WORK/recorded.db"  # real runs; the copy leaves traces/ alone
chmod u+w "$WORK/recorded.db"

# shot NAME SIZE SECONDS STORE ARGS...: the viewer at SIZE on a screen of SIZE, after SECONDS.
shot() {
  local name=$1 size=$2 wait=$3 store=$4
  shift 4
  # A display of its own for each picture (the last one's server may still be going away), and
  # -noreset: the server must not reset when the last client (xdotool) disconnects.
  NUM=$((NUM + 1))
  export DISPLAY=":$NUM"
  Xvfb "$DISPLAY" -screen 0 "${size}x24" -nolisten tcp -noreset > "$WORK/xvfb.log" 2>&1 &
  XVFB=$!
  for _ in $(seq 100); do xdotool getmouselocation > /dev/null 2>&1 && break; sleep 0.1; done
  xdotool getmouselocation > /dev/null 2>&1 || { cat "$WORK/xvfb.log" >&2; exit 1; }
  "$BUILD/gui/paci-viewer" "$store" --size "$size" "$@" > "$WORK/viewer.log" 2>&1 &
  VIEWER=$!
  local win
  win=$(xdotool search --sync --onlyvisible --name "PACI viewer" | head -1)
  xdotool windowmove "$win" 0 0
  xdotool windowsize "$win" "${size%x*}" "${size#*x}"
  sleep "$wait"
  python3 "$ROOT/scripts/xshot.py" "$OUT/x11-$name-$size.png"
  echo "wrote $OUT/x11-$name-$size.png"
  stop
}

for size in 1600x1000 1000x700; do
  shot timeline "$size" 4 "$WORK/demo.db" --run "$PRED" --view timeline
  shot explorer "$size" 8 "$WORK/demo.db" --view explorer
  shot replay "$size" 4 "$WORK/demo.db" --run "$MEAS" --view replay --replay-at 0.45
  shot side-by-side "$size" 4 "$WORK/recorded.db" --compare 2,1 --view compare
  shot curves "$size" 4 "$WORK/recorded.db" --curves 1,3 --view curves --target-loss 3.1
done
