#!/usr/bin/env bash
# A study keeps training with the binary it started as when that file is replaced or deleted
# mid-study (a rebuild): every point starts, and all of them with the same build. Before, every
# point after the rebuild failed with "cannot start .../paci (deleted)": study_rebuilt_binary_test.sh PACI
set -euo pipefail
paci=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp "$paci" "$dir/paci"
M="--layers 1 --dim 16 --heads 2 --seq 8 --microbatch-size 2 --eval-batches 1"
"$dir/paci" study --schedules paci --stages 2 --accum 2 --lr 1e-3 --seeds 4 --updates 60 $M \
  --db "$dir/s.db" --jobs 1 >"$dir/study.log" 2>&1 &
study=$!
sleep 0.3
rm "$dir/paci"  # what a rebuild does to the file at the path the study was started from
status=0
wait "$study" || status=$?
cat "$dir/study.log"
[ "$status" = 0 ] || { echo "study_rebuilt_binary: the study exited $status after its binary was deleted"; exit 1; }
grep -q "trained 4, skipped 0, failed 0" "$dir/study.log" || { echo "study_rebuilt_binary: not every point trained"; exit 1; }
echo "study_rebuilt_binary: every point trained after the binary's file was deleted"
