#!/usr/bin/env bash
# Rebuilds every CSV and figure under docs/results/ from the study data committed in
# docs/results/data/ (one SQLite store per study, per-op traces left out; data/README.md says which
# `paci study` commands trained each). No training: `paci study report` only, in about a minute.
#
#   scripts/make-results.sh [--out DIR] [--no-plots] [--paci PATH]
#
# --out DIR    write there instead of docs/results (the test compares the two)
# --no-plots   CSV only (plots need a paci built with Qt6 Charts)
# --paci PATH  the paci binary (default: build/tools/paci)
# --only DIR   rebuild one results folder (e.g. p8-k; "." is docs/results itself)
#
# Per folder: final.csv and seeds.csv (final losses; the same for every target), variants.csv (each
# compensated variant against its plain form, where there are some), tta-<target>.csv
# and its markdown table table-<target>.md (scripts/study_table.py) for each target, and the plots of
# the first target's report (tta-<target>.png for its bars).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/docs/results"
paci="$root/build/tools/paci"
plots=1
only=
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --no-plots) plots=0; shift ;;
    --paci) paci=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "make-results: unknown flag '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ -x "$paci" ] || { echo "make-results: --paci: no paci binary at $paci (build first)" >&2; exit 2; }
data="$root/docs/results/data"
# The cost model every report predicts time to accuracy with: GPT-2 Medium, b = 8, on P H100s.
scale=(--model gpt2-medium --hardware h100 --link nvlink4 --microbatch-size 8)

# folder | store | targets (the first one's report draws the plots) | sub-grid flags
reports=(
  ".|study.db|3.0 3.6|"
  "p8|p8.db|3.0 3.6|--accum 7,8 --schedules paci,1f1b-flush,paci+drift-lr-scale=1.0"
  "p4-baselines|p4.db|3.0 3.6|"
  "w128|w128.db|3.0 3.6|"
  "p8-k|p8.db|3.0 3.6|--schedules paci,1f1b-flush"
  "p4-k8|p4k8.db|3.0|"
  "long|long.db|3.0 2.6|"
  "p8-long|p8long.db|3.0 2.8 2.6 2.5|"
  "w256|w256.db|3.0 2.8|"
  "w512|w512.db|3.0 2.8|"
  "p8-baselines|p8.db|3.0 3.6|--accum 1,8 --lr 1e-3 --schedules paci,1f1b-flush,pipedream,pipedream-2bw,pipemare"
  # docs/results-staleness.md: the staleness compensations (issue 27)
  "staleness/p8-k8|staleness-p8.db|2.5 2.6 2.4|--accum 8"
  "staleness/p8-k7|staleness-p8.db|2.5 2.6 2.4|--accum 7"
  "staleness/w256|staleness-w256.db|2.6 3.0 2.4|"
  "staleness/w512|staleness-w512.db|3.0 2.8|"
)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for entry in "${reports[@]}"; do
  IFS='|' read -r folder store targets grid <<<"$entry"
  [ -z "$only" ] || [ "$only" = "$folder" ] || continue
  [ -f "$data/$store" ] || { echo "make-results: $data/$store is missing" >&2; exit 1; }
  dest="$out/$folder"
  mkdir -p "$dest"
  # A folder is rebuilt whole: its old CSVs and plots go (the top folder keeps its sub-folders).
  find "$dest" -maxdepth 1 -type f \( -name '*.csv' -o -name '*.png' -o -name 'table-*.md' \) -delete
  first=1
  for t in $targets; do
    work="$tmp/$folder-$t"
    flags=()
    [ "$first" = 1 ] && [ "$plots" = 1 ] || flags+=(--no-plots)
    # shellcheck disable=SC2086  # $grid is a list of flags
    "$paci" study report --db "$data/$store" --out "$work" --target-loss "$t" "${scale[@]}" $grid \
      "${flags[@]}" >/dev/null
    cp "$work/tta.csv" "$dest/tta-$t.csv"
    if [ "$first" = 1 ]; then
      cp "$work/final.csv" "$work/seeds.csv" "$dest/"
      [ ! -f "$work/variants.csv" ] || cp "$work/variants.csv" "$dest/"
      for png in "$work"/*.png; do
        [ -e "$png" ] || continue
        name=$(basename "$png")
        [ "$name" = tta.png ] && name="tta-$t.png"
        cp "$png" "$dest/$name"
      done
    fi
    first=0
  done
  for t in $targets; do python3 "$root/scripts/study_table.py" "$dest" "$t" >"$dest/table-$t.md"; done
  echo "make-results: $dest ($store${grid:+, $grid}): targets $targets"
  done_any=1
done
[ -n "${done_any:-}" ] || { echo "make-results: --only: no results folder '$only'" >&2; exit 2; }
