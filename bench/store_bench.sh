#!/usr/bin/env bash
# Store and viewer at scale: `paci simulate --schedule paci --stages 8 --accum 8 --microbatches
# 200000` (9.0 M ops) as a user runs it, into a fresh store. Prints, side by side in one run:
# seconds and MiB the run adds to the store (default: kept by its IR and re-simulated when read;
# --keep-ops: every op row, the behaviour before schema version 3; --no-db: the simulator alone),
# then the viewer's time to open the run (offscreen) and to draw full-width frames, for the
# default store and for the --keep-ops one (every op read back from SQLite, as a measured run is).
# Then the listing of the --keep-ops store and its run's level-of-detail summary (store_tiles_bench:
# write time, size, window reads).
# Usage: [PACI_MICROBATCHES=N] bench/store_bench.sh [BUILD_DIR]   (needs build/tools/paci; build/gui/paci-viewer for the
# viewer part, build/bench/store_tiles_bench for the summary). Results: bench/README.md.
set -euo pipefail
BUILD="${1:-build}"
PACI="$BUILD/tools/paci"
VIEWER="$BUILD/gui/paci-viewer"
RUN=(simulate --schedule paci --stages 8 --accum 8 --microbatches "${PACI_MICROBATCHES:-200000}")
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
mib() { local total=0 f; for f in "$1" "$1-wal" "$1-shm"; do [[ -e $f ]] && total=$((total + $(stat -c %s "$f"))); done
        python3 -c "print('%.3f' % ($total / 1048576))"; }

# A store that already holds a small run, so "added" does not count the empty schema.
seed_store() { "$PACI" simulate --schedule paci --stages 2 --accum 2 --microbatches 8 --db "$1" > /dev/null; }

measure() {  # label, extra flags...
  local label="$1"; shift
  local db="$work/$label.db"
  seed_store "$db"
  local before; before=$(mib "$db")
  local t0; t0=$(now)
  "$PACI" "${RUN[@]}" --db "$db" "$@" > "$work/$label.out"
  local t1; t1=$(now)
  local after; after=$(mib "$db")
  printf '%-28s %8.2f s %10.3f MiB added\n' "$label" "$(python3 -c "print($t1 - $t0)")" \
         "$(python3 -c "print($after - $before)")"
}

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
t0=$(now); "$PACI" "${RUN[@]}" --no-db > /dev/null; t1=$(now)
printf '%-28s %8.2f s\n' "simulate --no-db" "$(python3 -c "print($t1 - $t0)")"
measure "simulate (stored, default)"
measure "simulate --keep-ops" --keep-ops
run_id=$(sed -n 's/^stored as predicted run \([0-9]*\).*/\1/p' "$work/simulate (stored, default).out")
rows_id=$(sed -n 's/^stored as predicted run \([0-9]*\).*/\1/p' "$work/simulate --keep-ops.out")

if [[ -x "$VIEWER" ]]; then
  echo "viewer (offscreen, 1600x1000): run $run_id of the default store"
  QT_QPA_PLATFORM=offscreen "$VIEWER" "$work/simulate (stored, default).db" --run "$run_id" --bench \
    --size 1600x1000
  # Every op row read from SQLite, as for a measured run (the executor keeps every op).
  echo "viewer (offscreen, 1600x1000): run $rows_id of the --keep-ops store (every op a row)"
  QT_QPA_PLATFORM=offscreen "$VIEWER" "$work/simulate --keep-ops.db" --run "$rows_id" --bench \
    --size 1600x1000
else
  echo "viewer: $VIEWER not built (Qt off)"
fi

# Listing the store reads each run's op count from its row (schema 4), not count(*) of its rows.
t0=$(now); "$PACI" runs list --db "$work/simulate --keep-ops.db" > /dev/null; t1=$(now)
printf '%-28s %8.2f s\n' "runs list (--keep-ops store)" "$(python3 -c "print($t1 - $t0)")"
# The level-of-detail summary of the 9 M-row run: its share of the write time, size, reads.
if [[ -x "$BUILD/bench/store_tiles_bench" ]]; then
  "$BUILD/bench/store_tiles_bench" "$work/simulate --keep-ops.db" "$rows_id"
fi
